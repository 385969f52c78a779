"""An amdsmi stand-in driven by power traces and a clock (energy accumulator with a counter resolution)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wattprint.core.clock import Clock
from wattprint.meter.sim.traces import Constant, Trace


class AmdSmiException(Exception):
    pass


@dataclass
class SimAmdGpu:
    trace: Trace = field(default_factory=lambda: Constant(300.0))
    name: str = "AMD Instinct MI300X (simulated)"
    uuid: str = ""
    has_counter: bool = True
    lost_at: float | None = None
    resolution_uj: float = 15.3


class SimAmdSmi:
    AmdSmiException = AmdSmiException

    def __init__(self, gpus: list[SimAmdGpu], clock: Clock, origin: float | None = None) -> None:
        self.gpus = gpus
        for i, g in enumerate(gpus):
            g.uuid = g.uuid or f"amd-{i:04d}-sim"
        self.clock = clock
        self.origin = clock.monotonic() - 100.0 if origin is None else origin

    def amdsmi_init(self, *a: Any) -> None:
        return None

    def amdsmi_shut_down(self) -> None:
        return None

    def amdsmi_get_processor_handles(self) -> list[int]:
        return list(range(len(self.gpus)))

    def _g(self, h: int) -> SimAmdGpu:
        g = self.gpus[h]
        if g.lost_at is not None and self.clock.monotonic() >= g.lost_at:
            raise AmdSmiException("AMDSMI_STATUS_NOT_FOUND: device lost")
        return g

    def amdsmi_get_gpu_device_uuid(self, h: int) -> str:
        return self._g(h).uuid

    def amdsmi_get_gpu_asic_info(self, h: int) -> dict[str, Any]:
        return {"market_name": self._g(h).name}

    def amdsmi_get_energy_count(self, h: int) -> dict[str, Any]:
        g = self._g(h)
        if not g.has_counter:
            raise AmdSmiException("AMDSMI_STATUS_NOT_SUPPORTED")
        e_uj = g.trace.energy(self.origin, self.clock.monotonic()) * 1e6
        return {"energy_accumulator": int(e_uj / g.resolution_uj), "counter_resolution": g.resolution_uj,
                "timestamp": int(self.clock.monotonic() * 1e9)}

    def amdsmi_get_power_info(self, h: int) -> dict[str, Any]:
        return {"current_socket_power": self._g(h).trace.power(self.clock.monotonic()),
                "average_socket_power": "N/A"}
