"""RAM energy from its size and a watts-per-GB constant. Always ``estimated``.

0.375 W/GB: Crucial's rule of thumb, "around 3 watts of power for every 8GB of DDR3 or DDR4 memory"
(https://www.crucial.com/support/articles-faq-memory/how-much-power-does-memory-use); stated uncertainty 50%.
Process scope: the mean resident memory of this process tree over the window, from the sampler's readings
(once a second: the estimate is 50% uncertain already); a window edge reads nothing and carries the latest
reading, unless that is older than ``MAX_AGE_S`` (no sampler thread running), when it reads once.
Machine scope: all installed memory (DRAM draws power whether used or not), read once.
"""

from __future__ import annotations

import bisect
import threading

import psutil

from wattprint.meter.backends.base import Backend, BackendResult, Mark
from wattprint.meter.proctree import ProcessTree
from wattprint.meter.result import ComponentEnergy, Kind, Method

W_PER_GB = 0.375
W_PER_GB_SOURCE = "Crucial, 'How much power does memory use?' (3 W per 8 GB of DDR3/DDR4)"
UNCERTAINTY = 0.5
GB = 2**30
POLL_PERIOD_S = 1.0
MAX_AGE_S = 2.0


class RamBackend(Backend):
    source = "ram-estimate"

    def __init__(self, scope: str = "process", w_per_gb: float = W_PER_GB, tree: ProcessTree | None = None,
                 keep: int = 4096) -> None:
        if scope not in ("process", "machine"):
            raise ValueError("ram scope is 'process' or 'machine'")
        self.scope = scope
        self.w_per_gb = w_per_gb
        self.tree = tree or ProcessTree()
        self.poll_period_s = POLL_PERIOD_S if scope == "process" else None
        self._total = psutil.virtual_memory().total if scope == "machine" else 0
        self._lock = threading.Lock()
        self._ts: list[float] = []
        self._rss: list[int] = []
        self._keep = keep

    def describe(self) -> list[str]:
        return [f"ram ({self.scope} scope, {self.w_per_gb} W/GB, estimated)"]

    def poll(self, now: float) -> None:
        if self.scope != "process":
            return
        self.tree.scan(now)
        self._record(now, self.tree.rss()[1])

    def _record(self, now: float, b: int) -> None:
        with self._lock:
            self._ts.append(now)
            self._rss.append(b)
            if len(self._ts) > self._keep:
                del self._ts[: len(self._ts) - self._keep]
                del self._rss[: len(self._rss) - self._keep]

    def mark(self, now: float, begin: Mark | None = None) -> Mark:
        if self.scope != "process":
            return Mark(now, self._total)
        with self._lock:
            last = (self._ts[-1], self._rss[-1]) if self._ts else None
        if last is None or not 0 <= now - last[0] <= MAX_AGE_S:
            self.poll(now)  # no recent reading (no sampler thread): read once, the cost amortised over edges
            with self._lock:
                last = (self._ts[-1], self._rss[-1])
        return Mark(now, last[1])

    def energy(self, begin: Mark, end: Mark) -> BackendResult:
        with self._lock:
            lo, hi = bisect.bisect_left(self._ts, begin.t), bisect.bisect_right(self._ts, end.t)
            inside = self._rss[lo:hi]
        values = [begin.state, *inside, end.state]
        mean_gb = sum(values) / len(values) / GB
        dur = max(end.t - begin.t, 0.0)
        e = mean_gb * self.w_per_gb * dur
        comp = ComponentEnergy(
            kind=Kind.RAM, name="RAM", energy_j=e, method=Method.ESTIMATED, uncertainty_j=UNCERTAINTY * e,
            source=self.source, scope=self.scope, samples=len(values),
            detail=f"model=size x W/GB; {self.w_per_gb} W/GB ({W_PER_GB_SOURCE}); mean {mean_gb:.3f} GB "
                   + (f"(resident, process tree, sampled every {POLL_PERIOD_S:g} s: {len(inside)} reading(s) inside "
                      "the window, edges carry the latest)" if self.scope == "process" else "(installed)"))
        return BackendResult((comp,))

    def keep_since(self, t: float) -> None:
        with self._lock:
            i = max(bisect.bisect_left(self._ts, t) - 1, 0)
            del self._ts[:i]
            del self._rss[:i]

    def close(self) -> None:
        return None
