"""Clocks, injectable for tests. Monotonic seconds for durations, wall time for records."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def wall(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock: ``time.perf_counter`` for durations, ``time.time`` for timestamps."""

    def monotonic(self) -> float:
        return time.perf_counter()

    def wall(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class ManualClock:
    """A clock that moves only when told to; ``sleep`` advances it. For tests and simulations."""

    def __init__(self, start: float = 1000.0, wall_start: float = 1.7e9) -> None:
        self._t = start
        self._offset = wall_start - start

    def monotonic(self) -> float:
        return self._t

    def wall(self) -> float:
        return self._t + self._offset

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock does not go back")
        self._t += seconds
