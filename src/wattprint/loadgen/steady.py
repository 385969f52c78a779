"""The steady-state window of a level, found from the requests' own timing.

The in-flight count over time is a step function of the requests' start and stop times. The target is the
concurrency (closed loop) or the rounded time-weighted mean of the in-flight count while requests were
being issued (open loop, at least 1). The window:

* starts once the in-flight count has reached the target *and* the first ``target`` requests have ended
  (the first wave, which starts in lockstep and prefills together, is ramp-up);
* ends when the client stops holding the target: the end of the last span at or above the target (closed
  loop), or the last arrival (open loop); after that the level drains.

The energy slices that lie wholly inside it price it, so the window used is snapped inward to slice edges.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from wattprint.loadgen.client import RequestResult


@dataclass(frozen=True)
class Window:
    t0: float
    t1: float
    target: int
    held: float  # share of the window with the in-flight count at or above the target
    found: bool  # False: no steady state (the level is priced over its whole span, with a warning)
    reason: str = ""

    @property
    def duration_s(self) -> float:
        return self.t1 - self.t0


def steps(results: Sequence[RequestResult]) -> list[tuple[float, int]]:
    """(time, in-flight count from then on), in time order."""
    events = sorted([(r.start, 1) for r in results] + [(r.stopped, -1) for r in results if r.stopped is not None],
                    key=lambda e: (e[0], e[1]))
    out: list[tuple[float, int]] = []
    n = 0
    for t, d in events:
        n += d
        if out and out[-1][0] == t:
            out[-1] = (t, n)
        else:
            out.append((t, n))
    return out


def time_mean(st: list[tuple[float, int]], a: float, b: float) -> float:
    """Time-weighted mean of the step function over [a, b]."""
    if b <= a:
        return 0.0
    total, n_prev, t_prev = 0.0, 0, a
    for t, n in st:
        if t > a:
            total += n_prev * (min(t, b) - t_prev)
            t_prev = min(t, b)
        if t >= b:
            break
        n_prev = n
    total += n_prev * (b - t_prev) if t_prev < b else 0.0
    return total / (b - a)


def _spans_at(st: list[tuple[float, int]], target: int, end: float) -> list[tuple[float, float]]:
    spans, opened = [], None
    for t, n in st:
        if n >= target and opened is None:
            opened = t
        elif n < target and opened is not None:
            spans.append((opened, t))
            opened = None
    if opened is not None:
        spans.append((opened, end))
    return spans


def _held(spans: list[tuple[float, float]], a: float, b: float) -> float:
    inside = sum(max(0.0, min(v, b) - max(u, a)) for u, v in spans)
    return inside / (b - a) if b > a else 0.0


def find(results: Sequence[RequestResult], mode: str, value: float, t_start: float, t_stop_issuing: float,
         t_end: float) -> Window:
    done = sorted(r.stopped for r in results if r.stopped is not None)
    st = steps(results)
    if mode == "concurrency":
        target = int(value)
    else:
        target = max(1, round(time_mean(st, t_start, t_stop_issuing)))
    spans = _spans_at(st, target, t_end)
    if not spans or len(done) < target:
        return Window(t_start, t_end, target, 0.0, False,
                      f"the in-flight count never reached {target} with {target} requests ended")
    a = max(spans[0][0], done[target - 1])
    b = spans[-1][1] if mode == "concurrency" else min(t_stop_issuing, t_end)
    if not b > a:
        return Window(t_start, t_end, target, 0.0, False, "the level ended before its ramp-up did")
    return Window(a, b, target, _held(spans, a, b), True)


def snap(window: Window, edges: Sequence[tuple[float, float]]) -> tuple[Window, list[int]]:
    """The window shrunk to the slices wholly inside it, and those slices' indices."""
    inside = [i for i, (u, v) in enumerate(edges) if u >= window.t0 - 1e-9 and v <= window.t1 + 1e-9]
    if not window.found or len(inside) < 2:
        why = window.reason or f"only {len(inside)} energy slice(s) inside the steady span (need 2)"
        return Window(window.t0, window.t1, window.target, window.held, False, why), []
    t0, t1 = edges[inside[0]][0], edges[inside[-1]][1]
    return Window(t0, t1, window.target, window.held, True), inside
