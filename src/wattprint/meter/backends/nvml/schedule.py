"""When the sampler reads: the refresh intervals window edges ask a counter reading in, and the next poll slot.

An edge reads nothing itself (a read costs ~3 ms). It asks for a reading in the refresh interval it falls in
and the next two (the next one's mean power tells how the cut interval splits); the sampler reads them within
the budget. Once the lead GPU's phase is known, polls come once per refresh interval, ``poll_after_refresh_s``
after each refresh.
"""

from __future__ import annotations

import math
import threading

from wattprint.meter.backends.nvml.config import NvmlConfig
from wattprint.meter.backends.nvml.phase import RefreshPhase


class EdgeRequests:
    """Intervals wanted by window edges, and the number of windows open (shared by edges and the sampler)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wanted: set[int] = set()
        self._open = 0  # windows begun and not ended: while any is, every interval is wanted (budget left)

    def edge(self, begin: bool) -> None:
        with self._lock:
            self._open = max(self._open + (1 if begin else -1), 0)

    def ask(self, k: int, last_read_k: int | None) -> bool:
        """An edge in interval ``k`` wants readings in it and the next two; True if ``k`` itself is newly
        wanted and not read yet (then the sampler is worth waking now)."""
        with self._lock:
            new = k not in self._wanted and last_read_k != k
            self._wanted.update((k, k + 1, k + 2))
        return new

    def take(self, k: int, last_read_k: int | None) -> tuple[bool, bool, bool]:
        """At a poll in interval ``k``: (fresh: not read yet, wanted: an edge asked for it, a window is open);
        forgets the intervals already past."""
        with self._lock:
            fresh = last_read_k != k
            want = fresh and k in self._wanted
            is_open = self._open > 0
            self._wanted = {w for w in self._wanted if w >= k}
        return fresh, want, is_open


def next_poll_delay(now: float, lead: RefreshPhase | None, cfg: NvmlConfig) -> float:
    """The delay to the next poll: the next slot of the lead counter (``poll_after_refresh_s`` after each
    refresh), ``edge_poll_s`` while its phase is unknown, ``power_period_s`` without a counter."""
    if lead is None:
        return cfg.power_period_s
    if lead.phase is None:
        return cfg.edge_poll_s
    slot = lead.phase + cfg.poll_after_refresh_s  # polls at slot + k * period
    k = math.floor((now - slot) / lead.period + 1e-6)  # the slot just passed (a poll on time counts as it)
    return max(slot + (k + 1) * lead.period - now, 0.001)
