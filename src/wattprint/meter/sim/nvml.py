"""An NVML stand-in: enough of nvidia-ml-py's surface for wattprint, driven by power traces and a clock.

Like an H100 (measured by benchmarks/gpu_meter_check.py): the energy counter (mJ) refreshes every
``update_period_s`` (0.1 s) and holds the energy up to its refresh; the instant power field refreshes at
the same rate but at another phase (``field_offset_s``) and reports the power ``field_lag_s`` (20 ms)
before its refresh (``field_mode="point"``; ``"mean"``: the mean over the refresh interval instead);
``nvmlDeviceGetPowerUsage`` is a ~1 s average. ``counter_calls`` and ``field_calls`` count reads, so tests can
check what a window edge costs. A counter read can take clock time (``counter_read_s``, on a ManualClock) or
burn real CPU (``counter_cpu_s``, ~3 ms on Hopper) for cost benchmarks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from wattprint.core.clock import Clock
from wattprint.meter.sim.traces import Constant, Trace

NVML_SUCCESS = 0
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_NOT_FOUND = 6
NVML_ERROR_GPU_IS_LOST = 15
NVML_FI_DEV_POWER_INSTANT = 186


_BUF = bytes(1 << 16)


def _burn(cpu_s: float) -> None:
    """Use ``cpu_s`` of this thread's CPU time; hashlib releases the GIL on large buffers, as ctypes does."""
    import hashlib
    import time

    end = time.thread_time() + cpu_s
    h = hashlib.sha256()
    while time.thread_time() < end:
        h.update(_BUF)


class NVMLError(Exception):
    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.value = value

    def __str__(self) -> str:
        return {3: "Not Supported", 6: "Not Found", 15: "GPU is lost"}.get(self.value, f"NVML error {self.value}")


@dataclass
class SimGpu:
    """One simulated GPU. ``lost_at``: monotonic time after which every call on it fails."""

    trace: Trace = field(default_factory=lambda: Constant(100.0))
    name: str = "NVIDIA H100 80GB HBM3 (simulated)"
    uuid: str = ""
    has_counter: bool = True
    has_instant_field: bool = True
    lost_at: float | None = None
    update_period_s: float = 0.1
    noise_w: float = 0.5  # a real field's value differs at every refresh (mW resolution); 0: exact plateaus
    field_offset_s: float = 0.03
    field_lag_s: float = 0.02
    # What the instant field holds at each refresh u: "point" (the power around u - field_lag_s, +-5 ms: what
    # the meter assumes, and what the H200 refresh study found, docs/benchmarks/gpu_meter_check.md) or "mean" (the
    # mean power over the refresh interval ending at u - field_lag_s: what it would be if the driver averaged;
    # gpu_meter_check.py --sim-field mean checks that its refresh study tells the two apart)
    field_mode: str = "point"
    # Every n-th counter refresh (0: none) is published this late: until then the counter holds the previous
    # refresh's value (seen on an H200: a reading in a refresh interval still gave the previous interval's value)
    late_refresh_every: int = 0
    late_refresh_s: float = 0.06


@dataclass(frozen=True)
class _Handle:
    index: int


class _Value:
    def __init__(self, mw: int) -> None:
        self.uiVal = mw
        self.dVal = float(mw)
        self.ulVal = self.ullVal = self.sllVal = self.siVal = mw


class _FieldValue:
    def __init__(self, field_id: int, ret: int, mw: int = 0) -> None:
        self.fieldId = field_id
        self.nvmlReturn = ret
        self.valueType = 1  # unsigned int
        self.value = _Value(mw)


class SimNvml:
    """Module-like NVML stand-in. ``origin``: time at which the energy counters read zero."""

    NVMLError = NVMLError
    NVML_ERROR_NOT_SUPPORTED = NVML_ERROR_NOT_SUPPORTED
    NVML_ERROR_GPU_IS_LOST = NVML_ERROR_GPU_IS_LOST
    NVML_FI_DEV_POWER_INSTANT = NVML_FI_DEV_POWER_INSTANT

    def __init__(self, gpus: list[SimGpu], clock: Clock, origin: float | None = None,
                 mig: dict[str, int] | None = None, driver: str = "580.159.04-sim",
                 counter_read_s: float = 0.0, counter_cpu_s: float = 0.0) -> None:
        self.gpus = gpus
        for i, g in enumerate(gpus):
            if not g.uuid:
                g.uuid = f"GPU-{i:08x}-5151-4a4a-8b8b-{i:012x}"
        self.clock = clock
        self.origin = clock.monotonic() - 3600.0 if origin is None else origin
        self.mig = dict(mig or {})
        self.driver = driver
        self.counter_read_s = counter_read_s  # with a ManualClock, each counter read advances it (H100: 4.6 ms)
        # with a real clock, each counter read burns this much CPU of the calling thread (Hopper: ~3 ms,
        # docs/benchmarks/nvml_call_cost.md), without holding the GIL, like the C library: for cost benchmarks
        self.counter_cpu_s = counter_cpu_s
        self.counter_calls = 0
        self.field_calls = 0
        self.initialised = 0

    # ---- library -------------------------------------------------------------------------------
    def nvmlInit(self) -> None:
        self.initialised += 1

    def nvmlShutdown(self) -> None:
        self.initialised = max(self.initialised - 1, 0)

    def nvmlSystemGetDriverVersion(self) -> str:
        return self.driver

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, i: int) -> _Handle:
        if not 0 <= i < len(self.gpus):
            raise NVMLError(NVML_ERROR_NOT_FOUND)
        return _Handle(i)

    def nvmlDeviceGetHandleByUUID(self, uuid: str | bytes) -> Any:
        uuid = uuid.decode() if isinstance(uuid, bytes) else uuid
        if uuid in self.mig:
            return ("mig", uuid)
        for i, g in enumerate(self.gpus):
            if g.uuid == uuid:
                return _Handle(i)
        raise NVMLError(NVML_ERROR_NOT_FOUND)

    def nvmlDeviceGetDeviceHandleFromMigDeviceHandle(self, mig: Any) -> _Handle:
        return _Handle(self.mig[mig[1]])

    # ---- device ----------------------------------------------------------------------------------
    def _gpu(self, h: _Handle) -> SimGpu:
        g = self.gpus[h.index]
        if g.lost_at is not None and self.clock.monotonic() >= g.lost_at:
            raise NVMLError(NVML_ERROR_GPU_IS_LOST)
        return g

    def nvmlDeviceGetName(self, h: _Handle) -> str:
        return self._gpu(h).name

    def nvmlDeviceGetUUID(self, h: _Handle) -> str:
        return self._gpu(h).uuid

    def nvmlDeviceGetIndex(self, h: _Handle) -> int:
        return h.index

    def _update_time(self, g: SimGpu, offset: float = 0.0) -> float:
        """The last refresh instant at or before now (refreshes at origin + offset + k * period)."""
        k = math.floor((self.clock.monotonic() - self.origin - offset) / g.update_period_s + 1e-9)
        return self.origin + offset + k * g.update_period_s

    def nvmlDeviceGetTotalEnergyConsumption(self, h: _Handle) -> int:
        g = self._gpu(h)
        self.counter_calls += 1
        if not g.has_counter:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        if self.counter_cpu_s:
            _burn(self.counter_cpu_s)
        if self.counter_read_s and hasattr(self.clock, "advance"):
            self.clock.advance(self.counter_read_s / 2)
            value = int(g.trace.energy(self.origin, self._published(g)) * 1000.0)
            self.clock.advance(self.counter_read_s / 2)
            return value
        return int(g.trace.energy(self.origin, self._published(g)) * 1000.0)

    def _published(self, g: SimGpu) -> float:
        """The refresh instant whose energy the counter shows now (a late refresh shows the one before it)."""
        u = self._update_time(g)
        k = round((u - self.origin) / g.update_period_s)
        if g.late_refresh_every and k % g.late_refresh_every == 0 and self.clock.monotonic() < u + g.late_refresh_s:
            return u - g.update_period_s
        return u

    def nvmlDeviceGetFieldValues(self, h: _Handle, field_ids: list[int]) -> list[_FieldValue]:
        g = self._gpu(h)
        self.field_calls += 1
        out = []
        for fid in field_ids:
            if fid != NVML_FI_DEV_POWER_INSTANT or not g.has_instant_field:
                out.append(_FieldValue(fid, NVML_ERROR_NOT_SUPPORTED))
                continue
            u = self._update_time(g, g.field_offset_s)
            k = int(round((u - self.origin) / g.update_period_s))
            jitter = g.noise_w * (((k * 2654435761) % 1000) / 500.0 - 1.0)  # deterministic, zero-mean
            at = u - g.field_lag_s
            if g.field_mode == "mean":
                w = g.trace.mean_power(at - g.update_period_s, at)
            else:
                w = g.trace.mean_power(at - 0.005, at + 0.005)
            mw = int(round((w + jitter) * 1000.0))
            out.append(_FieldValue(fid, NVML_SUCCESS, mw))
        return out

    def field_refresh_instants(self, index: int, a: float, b: float) -> list[float]:
        """The instant field's refresh instants of GPU ``index`` in ``[a, b]`` (for tests of the field modes)."""
        g = self.gpus[index]
        k = math.ceil((a - self.origin - g.field_offset_s) / g.update_period_s)
        out = []
        while (t := self.origin + g.field_offset_s + k * g.update_period_s) <= b:
            out.append(t)
            k += 1
        return out

    def nvmlDeviceGetPowerUsage(self, h: _Handle) -> int:
        g = self._gpu(h)
        u = self._update_time(g)
        return int(round(g.trace.mean_power(u - 1.0, u) * 1000.0))

    def true_energy(self, index: int, a: float, b: float) -> float:
        """The exact energy of GPU ``index`` over ``[a, b]`` (J): what a meter should report."""
        return self.gpus[index].trace.energy(a, b)
