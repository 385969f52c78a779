"""What NVML itself is asked for one GPU: does it have the energy counter, and a function that reads its power."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

FI_POWER_INSTANT = 186  # NVML_FI_DEV_POWER_INSTANT (nvml.h)


def has_counter(nvml: Any, handle: Any) -> bool:
    """Whether ``nvmlDeviceGetTotalEnergyConsumption`` answers (Volta and later)."""
    try:
        nvml.nvmlDeviceGetTotalEnergyConsumption(handle)
    except nvml.NVMLError:
        return False
    return True


def counter_j(nvml: Any, handle: Any) -> float:
    """The total energy counter in joules (millijoules since the driver loaded; ~3 ms of CPU on Hopper)."""
    return nvml.nvmlDeviceGetTotalEnergyConsumption(handle) / 1000.0


def field_value(fv: Any) -> float:
    vt = fv.valueType
    v = fv.value
    return float({0: v.dVal, 1: v.uiVal, 2: v.ulVal, 3: v.ullVal, 4: v.sllVal, 5: v.siVal}.get(vt, v.uiVal))


def power_reader(nvml: Any, handle: Any) -> tuple[Callable[[], float], str]:
    """A function returning watts and its name: the instant field if it answers, else the (lagging) average.
    ``nvmlDeviceGetPowerUsage`` is a ~1 s average on recent GPUs: a fallback only."""

    def instant() -> float:
        fv = nvml.nvmlDeviceGetFieldValues(handle, [FI_POWER_INSTANT])[0]
        if fv.nvmlReturn != 0:
            raise nvml.NVMLError(fv.nvmlReturn)
        return field_value(fv) / 1000.0

    try:
        instant()
        return instant, "NVML_FI_DEV_POWER_INSTANT"
    except (nvml.NVMLError, AttributeError, IndexError):
        return (lambda: nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0), "nvmlDeviceGetPowerUsage (~1 s average)"
