"""CPU energy where no RAPL counter can be read: CPU time times a power model. Always ``estimated``.

Process scope (default): the CPU seconds of this process tree, each costing the model's full-load watts
per logical CPU (a busy CPU's share of the processor's power, static part included). Machine scope: every
logical CPU at idle watts, plus busy seconds (all processes) at the difference to full load.

Edges are cheap (see meter/proctree.py): process scope reads ``os.times()`` plus one ``/proc/<pid>/stat``
per live descendant the sampler has found (none: ~1 µs); machine scope reads the first line of
``/proc/stat``. The sampler only looks for new descendants, once a second.
"""

from __future__ import annotations

import psutil

from wattprint.meter.backends.base import Backend, BackendResult, Mark
from wattprint.meter.cpu_model import UNCERTAINTY, CpuModel, cpu_model
from wattprint.meter.proctree import CLOCK_TICKS, ProcessTree
from wattprint.meter.result import ComponentEnergy, Kind, Method

POLL_PERIOD_S = 1.0  # how often the sampler looks for new descendants (process scope)


def machine_busy_seconds() -> float:
    """CPU seconds spent busy by all logical CPUs since boot (``/proc/stat``'s first line, else psutil)."""
    try:
        with open("/proc/stat", "rb") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        v = []
    if len(v) >= 4:
        # user nice system idle iowait irq softirq steal guest guest_nice; guest time is inside user/nice
        busy = sum(v[:8]) - v[3] - (v[4] if len(v) > 4 else 0)
        return busy / CLOCK_TICKS
    t = psutil.cpu_times()
    idle = t.idle + getattr(t, "iowait", 0.0)
    return sum(t) - idle - getattr(t, "guest", 0.0) - getattr(t, "guest_nice", 0.0)


class CpuEstimateBackend(Backend):
    source = "cpu-estimate"

    def __init__(self, scope: str = "process", model: CpuModel | None = None, tree: ProcessTree | None = None,
                 reason: str = "") -> None:
        if scope not in ("process", "machine"):
            raise ValueError("cpu scope is 'process' or 'machine'")
        self.scope = scope
        self.model = model or cpu_model()
        self.tree = tree or ProcessTree()
        self.reason = reason  # why no counter (shown in detail)
        self.poll_period_s = POLL_PERIOD_S if scope == "process" else None
        m = self.model
        self._detail = f"model=cpu-time x power; {m.describe()}; scope={scope}"
        self._reason = f"; no counter: {reason}" if reason else ""

    def describe(self) -> list[str]:
        return [f"cpu {self.model.cpu_name} (estimated, {self.scope} scope)"]

    def poll(self, now: float) -> None:
        self.tree.scan(now)

    def mark(self, now: float, begin: Mark | None = None) -> Mark:
        if self.scope == "process":
            return Mark(now, self.tree.cpu_seconds())  # (seconds, descendants carried from the last scan)
        return Mark(now, (machine_busy_seconds(), 0))

    def energy(self, begin: Mark, end: Mark) -> BackendResult:
        m = self.model
        dur = max(end.t - begin.t, 0.0)
        busy = max(end.state[0] - begin.state[0], 0.0)
        carried = max(begin.state[1], end.state[1])
        if self.scope == "process":
            e = busy * m.max_w_per_cpu
        else:
            e = dur * m.logical_cpus * m.min_w_per_cpu + busy * (m.max_w_per_cpu - m.min_w_per_cpu)
        detail = f"{self._detail}; cpu_seconds={busy:.4f}"
        if carried:
            detail += f"; {carried} descendant(s) carried from the sampler's last scan (<= {POLL_PERIOD_S:g} s old)"
        detail += self._reason
        comp = ComponentEnergy(kind=Kind.CPU, name=m.cpu_name, energy_j=e, method=Method.ESTIMATED,
                               uncertainty_j=UNCERTAINTY * e, source=self.source, scope=self.scope,
                               detail=detail)
        return BackendResult((comp,))

    def keep_since(self, t: float) -> None:
        return None

    def close(self) -> None:
        return None
