"""How one meter interval's energy is shared among the requests in flight (pure functions, no state).

Within an interval ``[t0, t1)`` each component's energy ``E`` is split into

* idle: ``min(E, idle_power_w * duration)`` when an idle baseline is known, else 0;
* active: ``E - idle``.

Active energy goes to the requests in flight in proportion to the tokens each processed inside the
interval (its *work*; see :class:`Segment`). Idle energy stays with the fleet (policy ``none``) or is
amortised over the requests in flight: ``even`` (in proportion to each request's time in flight inside
the interval) or ``proportional`` (like the active energy, by tokens). Whatever cannot be given to any
request (no request in flight) is kept as fleet idle or *unattributed* active energy, so that

    sum(requests' dynamic + amortised idle) + unamortised idle + unattributed == measured energy

holds interval by interval (up to float rounding).
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from wattprint.core.errors import UnknownNameError


class IdlePolicy(str, enum.Enum):
    """How idle energy is amortised over the requests in flight."""

    NONE = "none"  # idle stays a fleet figure; receipts carry only energy above idle
    EVEN = "even"  # per request-second in flight
    PROPORTIONAL = "proportional"  # per token, like the energy above idle

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, name: str | IdlePolicy) -> IdlePolicy:
        try:
            return cls(name)
        except ValueError:
            raise UnknownNameError("idle policy", str(name), [p.value for p in cls]) from None


@dataclass(frozen=True)
class Interval:
    """What the meter measured over ``[t0, t1)`` (monotonic seconds), per component key.

    ``idle_w`` holds the idle power of the components that have a baseline; ``kinds`` maps a component
    key to its kind ("gpu", "cpu", "ram", "dram"); ``methods`` to how it was measured.
    """

    t0: float
    t1: float
    energy_j: Mapping[str, float]
    idle_w: Mapping[str, float] = field(default_factory=dict)
    kinds: Mapping[str, str] = field(default_factory=dict)
    methods: Mapping[str, str] = field(default_factory=dict)
    estimated: bool = False  # True for a provisional tail that was not measured yet

    @property
    def duration_s(self) -> float:
        return max(0.0, self.t1 - self.t0)

    @property
    def total_j(self) -> float:
        return sum(self.energy_j.values())

    def idle_j(self, key: str) -> float:
        """Idle energy of one component: baseline power times duration, capped at what was measured."""
        power = self.idle_w.get(key)
        if power is None:
            return 0.0
        return min(max(0.0, self.energy_j[key]), max(0.0, power * self.duration_s))

    def power_w(self) -> dict[str, float]:
        d = self.duration_s
        return {k: (e / d if d > 0 else 0.0) for k, e in self.energy_j.items()}


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch ``[t0, t1]`` of one request during which it processed ``prompt`` and ``generated`` tokens.

    Work is spread evenly over the segment; a segment of zero length is a point at ``t0``.
    """

    t0: float
    t1: float
    prompt: float = 0.0
    generated: float = 0.0

    def work_in(self, a: float, b: float, prompt_scale: float, gen_scale: float) -> float:
        tokens = self.prompt * prompt_scale + self.generated * gen_scale
        if tokens == 0.0:
            return 0.0
        length = self.t1 - self.t0
        if length <= 0.0:
            return tokens if a <= self.t0 < b else 0.0
        overlap = min(b, self.t1) - max(a, self.t0)
        return tokens * overlap / length if overlap > 0 else 0.0


@dataclass
class Share:
    """One request's part of one interval, per component key (joules)."""

    dynamic_j: dict[str, float] = field(default_factory=dict)
    idle_j: dict[str, float] = field(default_factory=dict)


@dataclass
class Split:
    """The whole of one interval: the requests' shares and what stayed with the fleet."""

    shares: dict[str, Share]
    idle_unamortised_j: dict[str, float]
    unattributed_j: dict[str, float]

    def requests_j(self) -> float:
        return sum(sum(s.dynamic_j.values()) + sum(s.idle_j.values()) for s in self.shares.values())

    def total_j(self) -> float:
        return self.requests_j() + sum(self.idle_unamortised_j.values()) + sum(self.unattributed_j.values())


def _fractions(values: Mapping[str, float]) -> dict[str, float] | None:
    total = sum(values.values())
    if total <= 0.0:
        return None
    return {k: v / total for k, v in values.items() if v > 0.0}


def split_interval(
    interval: Interval,
    work: Mapping[str, float],
    in_flight_s: Mapping[str, float],
    policy: IdlePolicy,
    busy_s: float | None = None,
) -> Split:
    """Share one interval among requests, given each request's work (tokens) and time in flight inside it.

    Active energy follows the work; when no request processed a token but some were in flight, it
    follows time in flight; with no request in flight it is *unattributed*. Idle energy follows the
    policy (see the module docstring); only the idle energy of the *busy* part of the interval (``busy_s``,
    the time during which at least one request was in flight; the whole interval when None) is amortised:
    the idle energy of the gaps between requests stays with the fleet.
    """
    by_work = _fractions(work)
    by_time = _fractions(in_flight_s)
    active_frac = by_work or by_time
    if policy is IdlePolicy.NONE:
        idle_frac = None
    elif policy is IdlePolicy.EVEN:
        idle_frac = by_time
    else:
        idle_frac = by_work or by_time
    shares: dict[str, Share] = {rid: Share() for rid in set(active_frac or ()) | set(idle_frac or ())}
    idle_left: dict[str, float] = {}
    unattributed: dict[str, float] = {}
    d = interval.duration_s
    busy = 1.0 if busy_s is None or d <= 0 else min(1.0, max(0.0, busy_s / d))
    for key, energy in interval.energy_j.items():
        idle = interval.idle_j(key)
        active = energy - idle
        _spread(active, active_frac, key, shares, unattributed, dynamic=True)
        if idle_frac and busy < 1.0:
            idle_left[key] = idle_left.get(key, 0.0) + idle * (1.0 - busy)
            idle *= busy
        _spread(idle, idle_frac, key, shares, idle_left, dynamic=False)
    return Split(shares=shares, idle_unamortised_j=idle_left, unattributed_j=unattributed)


def share_from_totals(interval: Interval, r_work: float, total_work: float, r_time: float, total_time: float,
                      policy: IdlePolicy, busy_s: float | None = None) -> Share:
    """The share of one request, exactly as :func:`split_interval` would give it, from its own work and time
    in flight and everyone's totals, without building everyone's shares (a receipt needs only its own)."""
    by_time = r_time / total_time if total_time > 0 else None
    active = r_work / total_work if total_work > 0 else by_time
    if policy is IdlePolicy.NONE:
        idle_frac = None
    elif policy is IdlePolicy.EVEN:
        idle_frac = by_time
    else:
        idle_frac = active
    d = interval.duration_s
    busy = 1.0 if busy_s is None or d <= 0 else min(1.0, max(0.0, busy_s / d))
    share = Share()
    for key, energy in interval.energy_j.items():
        idle = interval.idle_j(key)
        if active:
            share.dynamic_j[key] = (energy - idle) * active
        if idle_frac:
            share.idle_j[key] = idle * busy * idle_frac
    return share


def _spread(
    energy: float,
    fractions: Mapping[str, float] | None,
    key: str,
    shares: dict[str, Share],
    leftover: dict[str, float],
    dynamic: bool,
) -> None:
    if not fractions:
        leftover[key] = leftover.get(key, 0.0) + energy
        return
    for rid, frac in fractions.items():
        target = shares[rid].dynamic_j if dynamic else shares[rid].idle_j
        target[key] = target.get(key, 0.0) + energy * frac


def busy_seconds(spans: Iterable[tuple[float, float]], a: float, b: float) -> float:
    """Length of the union of ``spans`` inside ``[a, b)``."""
    clipped = []
    for s, e in spans:  # (max(s, a), min(e, b)) when not empty, without the calls (run on every receipt)
        if s < a:
            s = a
        if e > b:
            e = b
        if e > s:
            clipped.append((s, e))
    if not clipped:
        return 0.0
    clipped.sort()
    total = 0.0
    cur_s, cur_e = clipped[0]
    for s, e in clipped[1:]:
        if s > cur_e:
            total += cur_e - cur_s
            cur_s, cur_e = s, e
        elif e > cur_e:
            cur_e = e
    return total + (cur_e - cur_s)


def _t1(seg: Segment) -> float:
    return seg.t1


def works_over(segments: Sequence[Segment], start: int, intervals: Sequence[Interval],
               prompt_scale: float, gen_scale: float) -> list[float]:
    """Work of ``segments[start:]`` inside each of ``intervals``, in one sweep (both in time order)."""
    out = [0.0] * len(intervals)
    i = start
    n = len(segments)
    for j, iv in enumerate(intervals):
        if i < n and segments[i].t1 < iv.t0:
            i = bisect.bisect_left(segments, iv.t0, lo=i, key=_t1)
        k = i
        total = 0.0
        while k < n and segments[k].t0 < iv.t1:
            total += segments[k].work_in(iv.t0, iv.t1, prompt_scale, gen_scale)
            k += 1
        out[j] = total
    return out


def work_in_one(segments: Sequence[Segment], start: int, a: float, b: float,
                prompt_scale: float, gen_scale: float) -> float:
    """``works_over(segments, start, [interval [a, b)], ...)[0]`` without the lists (the same sums in the
    same order, so the same float)."""
    n = len(segments)
    i = start
    if i < n and segments[i].t1 < a:
        i = bisect.bisect_left(segments, a, lo=i, key=_t1)
    total = 0.0
    while i < n:
        seg = segments[i]
        t0 = seg.t0
        if t0 >= b:
            break
        i += 1
        tokens = seg.prompt * prompt_scale + seg.generated * gen_scale  # Segment.work_in, inlined
        if tokens == 0.0:
            continue
        length = seg.t1 - t0
        if length <= 0.0:
            if a <= t0:
                total += tokens
            continue
        t1 = seg.t1
        overlap = (b if b < t1 else t1) - (a if a > t0 else t0)  # min(b, t1) - max(a, t0)
        if overlap > 0:
            total += tokens * overlap / length
    return total


def advance_cursor(segments: Sequence[Segment], start: int, b: float) -> int:
    """First index whose segment may still overlap time ``b`` or later (segments are in time order)."""
    i = start
    while i < len(segments) and segments[i].t1 < b:
        i += 1
    return i


def sum_by_kind(energy: Mapping[str, float], kinds: Mapping[str, str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in energy.items():
        kind = kinds.get(key, key.split(":", 1)[0])
        out[kind] = out.get(kind, 0.0) + value
    return out


def add_into(target: dict[str, float], source: Iterable[tuple[str, float]]) -> None:
    for key, value in source:
        target[key] = target.get(key, 0.0) + value
