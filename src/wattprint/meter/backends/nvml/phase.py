"""The energy counter's refresh phase: when its value changes (every ~100 ms), found by watching it change.

A counter reading is only useful filed under the refresh interval it belongs to, and NVML does not say when
the counter refreshes: the power field's refreshes are not the counter's. The search polls the counter until
its value changes; the change marks a refresh to +-half a read (~2.3 ms on an H100).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

Read = Callable[[], tuple[float, float, float]]  # a stamped read: (start, end, joules)

HELD_UP_S = 0.012  # a gap between two reads this long means the thread was held up (GIL): a refresh not pinned


@dataclass
class RefreshPhase:
    """One counter's refresh instants: ``phase + k * period``. ``synced_at`` is when it was last searched."""

    period: float
    phase: float | None = None
    synced_at: float | None = None

    def index(self, t: float) -> int | None:
        """The refresh interval holding time ``t`` (None while the phase is unknown)."""
        return None if self.phase is None else math.floor((t - self.phase) / self.period)

    def start(self, k: int) -> float:
        """The refresh that opens interval ``k`` (the phase must be known)."""
        assert self.phase is not None
        return self.phase + k * self.period

    def search(self, read: Read, now: Callable[[], float], sleep: Callable[[float], None]) -> None:
        """Poll the counter until its value changes and set the phase there; NVML errors propagate."""
        _, b0, first = read()
        prev_b, deadline, retried = b0, b0 + 2.5 * self.period, False
        for _ in range(300):  # ~25 reads on an H100; bounded whatever the clock does
            if now() >= deadline:
                break
            a, b, e = read()
            if e != first:
                if b - prev_b > HELD_UP_S:  # the thread was held up: this refresh is not pinned down ...
                    if retried:
                        break
                    # ... so watch for the next one (a busy process holds the GIL now and then: giving up
                    # here left whole benchmark jobs on the power field on an H100)
                    first, prev_b, retried = e, b, True
                    deadline = max(deadline, b + 1.5 * self.period)
                    continue
                self._set((prev_b + b) / 2, b)
                return
            prev_b = b
            if b - a < 0.001:  # a fast read (not an H100): pace the polling instead of spinning
                sleep(0.001)
                prev_b = now()
        self.synced_at = now()  # no refresh seen: try again later, readings stay unaligned

    def _set(self, t: float, now: float) -> None:
        if self.phase is not None and self.synced_at is not None and now - self.synced_at > 5:
            n = round((t - self.phase) / self.period)
            if n > 0 and abs((t - self.phase) / n - self.period) < 0.01 * self.period:
                self.period = (t - self.phase) / n  # refine the period from two far-apart refreshes
        self.phase, self.synced_at = t, now
