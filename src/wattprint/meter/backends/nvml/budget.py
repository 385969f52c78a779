"""The counter-read budget: a token bucket, because each energy-counter read costs ~3 ms of CPU on Hopper."""

from __future__ import annotations


class ReadBudget:
    """Refills at ``open_rate_x x reads_per_s`` since the last spend, up to ``burst`` reads (saved while no
    window is open). Starts with 3 reads: enough for the first window's edges."""

    def __init__(self, reads_per_s: float, open_rate_x: float, burst: float) -> None:
        self.reads_per_s = reads_per_s
        self.open_rate_x = open_rate_x
        self.burst = burst
        self._tokens = 3.0
        self._tokens_at: float | None = None

    def tokens(self, now: float) -> float:
        """The reads available at time ``now``."""
        if self._tokens_at is None:
            return self._tokens
        return min(self.burst, self._tokens + (now - self._tokens_at) * self.reads_per_s * self.open_rate_x)

    def spend(self, now: float, reserve: float = 0.0) -> bool:
        """Take one read if more than ``reserve`` would be left; reads inside open windows keep a reserve for
        the edges' own requests."""
        self._tokens = self.tokens(now)
        self._tokens_at = now
        if self._tokens < 1.0 + reserve:
            return False
        self._tokens -= 1.0
        return True

    def affordable(self, now: float) -> bool:
        """Whether a read is left now, without taking it (a wake-up that cannot read is wasted; one costs
        ~0.1-0.2 ms of CPU). Called at edges, racing the sampler harmlessly (a float read)."""
        return self._tokens_at is None or self.tokens(now) >= 1.0
