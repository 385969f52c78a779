"""Energy over a load level, cut into consecutive slices so that the steady-state window, found afterwards
from the requests' timing, can be priced from the slices it covers.

* :class:`MeterEnergy`: wattprint's meter (the engine's GPUs by UUID, its process tree's CPU and RAM). A
  ``level`` window stays open for the whole level (so the GPU readings are kept), and slice windows of
  ``slice_s`` follow each other edge to edge. An optional ``edge_probe`` (a raw GPU counter read, in the GPU
  script) is read at every slice edge to check the meter against.
* :class:`NoEnergy`: latency only (a remote endpoint without a proxy).

A remote engine behind ``wattprint proxy`` is priced from the receipts its responses carry (see
:mod:`wattprint.loadgen.analysis`); no slices are needed for that.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Slice:
    t0: float  # time.perf_counter(), the meter's clock
    t1: float
    components: tuple[Any, ...]  # meter ComponentEnergy
    probe0: float | None = None
    probe1: float | None = None


@dataclass
class LevelEnergy:
    slices: list[Slice] = field(default_factory=list)
    source: str = "none"  # "meter", "proxy receipts", "none"
    whole: Any = None  # the whole level's Measurement, ramp-up and drain included


class EnergySource(Protocol):
    source: str

    def start(self) -> None: ...

    def boundary(self) -> None: ...

    def stop(self) -> LevelEnergy: ...


class NoEnergy:
    source = "none"

    def start(self) -> None:
        return None

    def boundary(self) -> None:
        return None

    def stop(self) -> LevelEnergy:
        return LevelEnergy(source=self.source)


class MeterEnergy:
    """Slices from a :class:`wattprint.meter.Meter` (owned by the caller)."""

    source = "meter"

    def __init__(self, meter: Any, edge_probe: Callable[[], float] | None = None) -> None:
        self.meter = meter
        self.edge_probe = edge_probe
        self._closed: list[tuple[Any, float | None, float | None]] = []
        self._n = 0
        self._probe0: float | None = None

    def _name(self) -> str:
        return f"slice-{self._n}"

    def _probe(self) -> float | None:
        return self.edge_probe() if self.edge_probe else None

    def start(self) -> None:
        self._closed, self._n = [], 0
        self.meter.begin("level")
        self.meter.begin(self._name())
        self._probe0 = self._probe()

    def boundary(self) -> None:
        closed = self.meter.close_window(self._name())
        probe = self._probe()
        self._closed.append((closed, self._probe0, probe))
        self._n += 1
        self.meter.begin(self._name())
        self._probe0 = probe

    def stop(self) -> LevelEnergy:
        closed = self.meter.close_window(self._name())
        self._closed.append((closed, self._probe0, self._probe()))
        level = self.meter.close_window("level")
        self.meter.settle(closed.t1)  # wait for the readings that follow the last edge (at most ~0.4 s)
        out = LevelEnergy(source=self.source, whole=self.meter.measurement(level))
        for c, p0, p1 in self._closed:
            out.slices.append(Slice(c.window.t0, c.t1, self.meter.measurement(c).components, p0, p1))
        return out
