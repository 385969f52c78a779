"""Power traces (watts over monotonic seconds) whose integrals are exact, for simulated hardware."""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass


class Trace:
    """A power trace: ``power(t)`` in W and ``energy(a, b)`` in J, exactly."""

    def power(self, t: float) -> float:
        raise NotImplementedError

    def energy(self, a: float, b: float) -> float:
        raise NotImplementedError

    def mean_power(self, a: float, b: float) -> float:
        return self.energy(a, b) / (b - a) if b > a else self.power(a)


@dataclass(frozen=True)
class Constant(Trace):
    watts: float

    def power(self, t: float) -> float:
        return self.watts

    def energy(self, a: float, b: float) -> float:
        return self.watts * (b - a)


class Steps(Trace):
    """Piecewise-constant: ``points`` are (start time, watts); before the first point, its watts hold."""

    def __init__(self, points: Sequence[tuple[float, float]]) -> None:
        pts = sorted(points)
        self.ts = [p[0] for p in pts]
        self.ws = [p[1] for p in pts]

    def power(self, t: float) -> float:
        i = bisect.bisect_right(self.ts, t) - 1
        return self.ws[max(i, 0)]

    def energy(self, a: float, b: float) -> float:
        if b <= a:
            return 0.0
        total, t = 0.0, a
        i = max(bisect.bisect_right(self.ts, a) - 1, 0)
        while t < b:
            nxt = self.ts[i + 1] if i + 1 < len(self.ts) else math.inf
            end = min(max(nxt, t), b)
            total += self.ws[i] * (end - t)
            t, i = end, i + 1
            if i >= len(self.ts):
                total += self.ws[-1] * (b - t)
                break
        return total


class LiveSteps(Steps):
    """A piecewise-constant trace written as the simulated work runs: ``set(t, watts)`` from time ``t`` on
    (times must not go back); it starts at ``idle_w``."""

    def __init__(self, idle_w: float) -> None:
        super().__init__([(0.0, idle_w)])

    def set(self, t: float, watts: float) -> None:
        self.ts.append(t)
        self.ws.append(watts)


@dataclass(frozen=True)
class Square(Trace):
    """``high`` W for ``duty * period`` s, then ``low`` W, repeating from ``start``."""

    high: float
    low: float
    period: float
    duty: float = 0.5
    start: float = 0.0

    def power(self, t: float) -> float:
        phase = (t - self.start) % self.period
        return self.high if phase < self.duty * self.period else self.low

    def _cum(self, t: float) -> float:
        n, phase = divmod(t - self.start, self.period)
        on = self.duty * self.period
        per = self.high * on + self.low * (self.period - on)
        part = self.high * min(phase, on) + self.low * max(phase - on, 0.0)
        return n * per + part

    def energy(self, a: float, b: float) -> float:
        return self._cum(b) - self._cum(a) if b > a else 0.0
