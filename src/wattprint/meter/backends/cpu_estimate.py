"""CPU energy where no RAPL counter can be read: CPU time times a power model. Always ``estimated``.

Process scope (default): the CPU seconds of this process tree, each costing the model's full-load watts
per logical CPU (a busy CPU's share of the processor's power, static part included). Machine scope: every
logical CPU at idle watts, plus busy seconds (all processes) at the difference to full load.
"""

from __future__ import annotations

import psutil

from wattprint.meter.backends.base import BackendResult, Mark
from wattprint.meter.cpu_model import UNCERTAINTY, CpuModel, cpu_model
from wattprint.meter.proctree import ProcessTree
from wattprint.meter.result import ComponentEnergy, Kind, Method


def machine_busy_seconds() -> float:
    t = psutil.cpu_times()
    idle = t.idle + getattr(t, "iowait", 0.0)
    return sum(t) - idle - getattr(t, "guest", 0.0) - getattr(t, "guest_nice", 0.0)


class CpuEstimateBackend:
    source = "cpu-estimate"

    def __init__(self, scope: str = "process", model: CpuModel | None = None, tree: ProcessTree | None = None,
                 reason: str = "") -> None:
        if scope not in ("process", "machine"):
            raise ValueError("cpu scope is 'process' or 'machine'")
        self.scope = scope
        self.model = model or cpu_model()
        self.tree = tree or ProcessTree()
        self.reason = reason  # why no counter (shown in detail)
        self.poll_period_s = 2.0 if scope == "process" else None

    def describe(self) -> list[str]:
        return [f"cpu {self.model.cpu_name} (estimated, {self.scope} scope)"]

    def poll(self, now: float) -> None:
        self.tree.scan(now)

    def mark(self, now: float, begin: Mark | None = None) -> Mark:
        busy = self.tree.cpu_seconds() if self.scope == "process" else machine_busy_seconds()
        return Mark(now, busy)

    def energy(self, begin: Mark, end: Mark) -> BackendResult:
        m = self.model
        dur = max(end.t - begin.t, 0.0)
        busy = max(end.state - begin.state, 0.0)
        if self.scope == "process":
            e = busy * m.max_w_per_cpu
        else:
            e = dur * m.logical_cpus * m.min_w_per_cpu + busy * (m.max_w_per_cpu - m.min_w_per_cpu)
        detail = f"model=cpu-time x power; {m.describe()}; scope={self.scope}; cpu_seconds={busy:.4f}"
        if self.reason:
            detail += f"; no counter: {self.reason}"
        comp = ComponentEnergy(kind=Kind.CPU, name=m.cpu_name, energy_j=e, method=Method.ESTIMATED,
                               uncertainty_j=UNCERTAINTY * e, source=self.source, scope=self.scope,
                               detail=detail)
        return BackendResult((comp,))

    def keep_since(self, t: float) -> None:
        return None

    def close(self) -> None:
        return None
