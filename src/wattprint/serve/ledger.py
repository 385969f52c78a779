"""The ledger: requests' token timelines, measured intervals, and the split that settles them.

Not thread-safe by itself: :class:`wattprint.serve.accountant.Accountant` holds one lock around it.

An interval is *final* once every request that overlaps it has ended (so that its token counts, which the
upstream's ``usage`` may correct at the end, are known), or ``max_lag_s`` after it was measured, whichever
comes first: then the requests still open in it are counted as they stand (the tokens seen so far,
``forced``). So one long request never holds back the figures of the others: a request that has ended is
settled (its receipt final) at most ``max_lag_s`` plus an interval after its end, and the ledger holds no
more than ``max_lag_s`` of ended requests and pending intervals. Final splits go to the requests
(``Track.final_*``) and to the fleet totals; a request whose every interval is final is *settled*.

The work of one event does not grow with the number of requests held: open requests are kept apart from
ended ones, and ended ones in order of their end, so that a split looks only at the requests that
overlap its intervals (found by bisection) and settling takes a prefix.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from wattprint.serve.attribution import (
    IdlePolicy,
    Interval,
    Segment,
    Split,
    add_into,
    advance_cursor,
    busy_seconds,
    share_from_totals,
    split_interval,
    work_in_one,
    works_over,
)


@dataclass(slots=True)  # thousands are held at a time: no __dict__ each
class Track:
    """One request as the ledger sees it: when it ran and which tokens it processed when."""

    id: str
    start: float
    prompt_tokens: float  # estimate until usage corrects it
    prompt_source: str
    route: str = ""
    segments: list[Segment] = field(default_factory=list)
    last_t: float = 0.0
    generated: float = 0.0  # tokens counted from the stream
    prompt_scale: float = 1.0
    gen_scale: float = 1.0
    end: float | None = None
    completed: bool = True  # False when the client went away or the upstream failed
    usage: dict[str, int] | None = None
    cursor: int = 0
    final_dynamic_j: dict[str, float] = field(default_factory=dict)
    final_idle_j: dict[str, float] = field(default_factory=dict)
    forced: bool = False
    prefilled: bool = False  # the prefill ended (first token, or the end of a request never streamed)
    # (a, work, time in flight) of this ended request inside any [a, b) with b > end (Ledger._contributions)
    tail_cache: tuple[float, float, float] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.last_t = self.start

    @property
    def prompt_pending(self) -> bool:
        return not self.prefilled

    def tokens(self) -> tuple[int, int]:
        """(prompt, completion) tokens as best known: usage when reported, else counted or estimated."""
        usage = self.usage or {}
        return (int(usage.get("prompt_tokens", round(self.prompt_tokens))),
                int(usage.get("completion_tokens", round(self.generated))))

    def open_segment(self, now: float) -> Segment | None:
        """The stretch since the last event, with a provisional token count (None once ended)."""
        if self.end is not None or now <= self.last_t:
            return None
        if self.prompt_pending:
            return Segment(self.last_t, now, prompt=self.prompt_tokens)
        return Segment(self.last_t, now, generated=1.0)  # one step in progress


@dataclass
class Totals:
    """Fleet energy since the ledger started, per component key (joules)."""

    measured_j: dict[str, float] = field(default_factory=dict)
    dynamic_j: dict[str, float] = field(default_factory=dict)
    idle_amortised_j: dict[str, float] = field(default_factory=dict)
    idle_unamortised_j: dict[str, float] = field(default_factory=dict)
    unattributed_j: dict[str, float] = field(default_factory=dict)
    intervals: int = 0
    measured_s: float = 0.0

    def add(self, interval: Interval, split: Split) -> None:
        add_into(self.measured_j, interval.energy_j.items())
        for share in split.shares.values():
            add_into(self.dynamic_j, share.dynamic_j.items())
            add_into(self.idle_amortised_j, share.idle_j.items())
        add_into(self.idle_unamortised_j, split.idle_unamortised_j.items())
        add_into(self.unattributed_j, split.unattributed_j.items())
        self.intervals += 1
        self.measured_s += interval.duration_s

    def as_dict(self) -> dict[str, float]:
        s = lambda d: sum(d.values())  # noqa: E731
        return {
            "measured_j": s(self.measured_j),
            "dynamic_j": s(self.dynamic_j),
            "idle_amortised_j": s(self.idle_amortised_j),
            "idle_unamortised_j": s(self.idle_unamortised_j),
            "unattributed_j": s(self.unattributed_j),
            "measured_s": self.measured_s,
            "intervals": float(self.intervals),
        }


# How long a measured interval may wait for the requests in it to end. Long enough for most non-streamed
# generations (whose tokens are known only at their end) to end first; short enough that final receipts
# and metrics follow live traffic, and that the requests held meanwhile take little memory.
MAX_LAG_S = 10.0
_MAX_TOKENS = 10**12  # a usage count above this is not a count
_TRIM_AT = 64  # a running request's segments before its cursor are dropped in batches of this many


@dataclass(frozen=True)
class LedgerConfig:
    policy: IdlePolicy = IdlePolicy.EVEN
    prefill_weight: float = 1.0  # weight of a prompt token against a generated one
    max_lag_s: float = MAX_LAG_S

    def __post_init__(self) -> None:
        if not (0 <= self.prefill_weight < math.inf and 0 < self.max_lag_s < math.inf):
            raise ValueError("prefill_weight must be finite and >= 0, max_lag_s finite and > 0")


class Ledger:
    """Tracks, pending intervals and fleet totals. ``on_final(interval, split)`` and
    ``on_settled(track)`` are called (under the owner's lock) as figures become final."""

    def __init__(self, config: LedgerConfig | None = None,
                 on_final: Callable[[Interval, Split], None] | None = None,
                 on_settled: Callable[[Track], None] | None = None) -> None:
        self.config = config or LedgerConfig()
        self.tracks: dict[str, Track] = {}  # every request not settled yet, by id
        self._open: dict[str, Track] = {}  # those still running, in the order they opened
        self._ended: list[Track] = []  # those ended, in order of their end
        self._ends: list[float] = []  # their ends (bisected without a key function)
        self.pending: deque[Interval] = deque()
        self.totals = Totals()
        self.measured_until: float | None = None
        self.last_interval: Interval | None = None
        self._on_final = on_final
        self._on_settled = on_settled

    @property
    def open_count(self) -> int:
        return len(self._open)

    # ---- request events -------------------------------------------------------------------------
    def open(self, track: Track) -> None:
        self.tracks[track.id] = track
        self._open[track.id] = track

    def tokens(self, rid: str, t: float, generated: float) -> None:
        """``generated`` tokens arrived at ``t``; the first call also closes the prefill."""
        tr = self.tracks[rid]
        t = max(t, tr.last_t)
        prompt = tr.prompt_tokens if tr.prompt_pending else 0.0
        seg = Segment(tr.last_t, t, prompt=prompt, generated=generated)
        last = tr.segments[-1] if tr.segments else None
        if last is not None and self.measured_until is not None and last.t0 >= self.measured_until:
            # both lie in the interval the meter has not cut yet: one segment splits the same way
            seg = Segment(last.t0, t, last.prompt + prompt, last.generated + generated)
            tr.segments[-1] = seg
        else:
            tr.segments.append(seg)
        tr.prefilled = True
        tr.generated += generated
        tr.last_t = t

    def close(self, rid: str, t: float, usage: dict[str, int] | None, completed: bool) -> Track:
        """End a request at ``t``. ``usage`` (OpenAI's prompt/completion tokens) corrects the counts."""
        tr = self.tracks[rid]
        t = max(t, tr.last_t)
        if usage:  # counts only: an upstream's negative, fractional or absurd values are left out
            usage = {k: int(v) for k, v in usage.items()
                     if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < _MAX_TOKENS}
        completion = float(usage.get("completion_tokens", 0)) if usage else 0.0
        if tr.prompt_pending:  # never streamed: all work spread over the whole request
            tr.segments.append(Segment(tr.start, t, prompt=tr.prompt_tokens, generated=completion))
            tr.generated = completion
            tr.prefilled = True
        elif t > tr.last_t:
            tr.segments.append(Segment(tr.last_t, t))
        if usage:
            tr.usage = usage
            if "prompt_tokens" in usage and tr.prompt_tokens > 0:
                tr.prompt_scale = usage["prompt_tokens"] / tr.prompt_tokens
            if "completion_tokens" in usage and tr.generated > 0:
                tr.gen_scale = usage["completion_tokens"] / tr.generated
        tr.last_t = t
        tr.end = t
        tr.completed = completed
        del self._open[rid]
        ends = self._ends
        if ends and ends[-1] > t:  # ends arrive in time order from one clock; not when replayed
            i = bisect_right(ends, t)
            ends.insert(i, t)
            self._ended.insert(i, tr)
        else:
            ends.append(t)
            self._ended.append(tr)
        return tr

    # ---- meter intervals ------------------------------------------------------------------------
    def add_interval(self, interval: Interval, now: float) -> None:
        self.pending.append(interval)
        self.measured_until = interval.t1
        self.last_interval = interval
        self.settle(now)

    def _oldest_open(self) -> float:
        return min((tr.start for tr in self._open.values()), default=float("inf"))

    def settle(self, now: float) -> None:
        """Finalise every pending interval that can be, oldest first; then settle finished requests."""
        pending = self.pending
        if pending:
            oldest = self._oldest_open()
            max_lag = self.config.max_lag_s
            while pending:
                iv = pending[0]
                blocked = oldest < iv.t1
                if blocked and now - iv.t1 < max_lag:
                    break
                pending.popleft()
                self._finalise(iv, forced=blocked, now=now)
        until = self.measured_until if not pending else pending[0].t0
        if until is None or not self._ends or self._ends[0] > until:
            return
        k = bisect_right(self._ends, until)
        done = self._ended[:k]
        del self._ended[:k]
        del self._ends[:k]
        for tr in done:
            del self.tracks[tr.id]
            if self._on_settled:
                self._on_settled(tr)

    def _finalise(self, iv: Interval, forced: bool, now: float) -> None:
        split = self.split(iv, now if forced else None, final=True)
        for rid, share in split.shares.items():
            tr = self.tracks[rid]
            add_into(tr.final_dynamic_j, share.dynamic_j.items())
            add_into(tr.final_idle_j, share.idle_j.items())
        if forced:
            for tr in self._open.values():
                if tr.start < iv.t1:
                    tr.forced = True
        self.totals.add(iv, split)
        if self._on_final:
            self._on_final(iv, split)

    def split(self, iv: Interval, now: float | None, final: bool = False) -> Split:
        """Split one interval; see :meth:`split_many`. ``final`` moves the tracks' cursors past it (and
        drops the segments of running requests that lie wholly before it: memory stays flat)."""
        result = self.split_many([iv], now)[0]
        if final:
            for tr in self.candidates(iv.t0, iv.t1):
                tr.cursor = advance_cursor(tr.segments, tr.cursor, iv.t1)
                if tr.cursor >= _TRIM_AT:
                    del tr.segments[:tr.cursor]
                    tr.cursor = 0
        return result

    def candidates(self, lo: float, hi: float) -> list[Track]:
        """The requests that may overlap ``[lo, hi)``: ended at or after ``lo`` (by bisection), or open
        and started before ``hi``; ended ones first, in order of their end, then open ones."""
        ended = self._ended
        i = bisect_left(self._ends, lo)
        out = [tr for tr in ended[i:] if tr.start < hi] if i < len(ended) else []
        out.extend(tr for tr in self._open.values() if tr.start < hi)
        return out

    def split_many(self, intervals: list[Interval], now: float | None, only: str | None = None) -> list[Split]:
        """Split consecutive intervals; open requests count their open part provisionally as of ``now``
        (not at all when ``now`` is None). With ``only``, each Split holds that request's share alone,
        computed from everyone's totals instead of everyone's shares (a receipt is issued with it on every
        request): the same contributions in the same order, so the same floats as the full split."""
        if not intervals:
            return []
        if only is not None:
            return self._shares_of(intervals, now, only)
        works: dict[str, list[float]] = {}
        flights: dict[str, list[float]] = {}
        spans: list[tuple[float, float]] = []
        for tr, end, ws, fs in self._contributions(intervals, now):
            works[tr.id], flights[tr.id] = ws, fs
            spans.append((tr.start, end))
        out = []
        for j, iv in enumerate(intervals):
            work = {rid: ws[j] for rid, ws in works.items() if ws[j] > 0 or flights[rid][j] > 0}
            flight = {rid: flights[rid][j] for rid in work}
            busy = busy_seconds(spans, iv.t0, iv.t1)
            out.append(split_interval(iv, work, flight, self.config.policy, busy))
        return out

    def _shares_of(self, intervals: list[Interval], now: float | None, rid: str) -> list[Split]:
        m = len(intervals)
        total_work = [0.0] * m
        total_time = [0.0] * m
        mine_work = [0.0] * m
        mine_time = [0.0] * m
        spans: list[tuple[float, float]] = []
        for tr, end, ws, fs in self._contributions(intervals, now):
            for j in range(m):
                total_work[j] += ws[j]
                total_time[j] += fs[j]
            if tr.id == rid:
                mine_work, mine_time = ws, fs
            spans.append((tr.start, end))
        policy = self.config.policy
        return [Split({rid: share_from_totals(iv, mine_work[j], total_work[j], mine_time[j], total_time[j], policy,
                                              busy_seconds(spans, iv.t0, iv.t1))}, {}, {})
                for j, iv in enumerate(intervals)]

    def _contributions(self, intervals: list[Interval],
                       now: float | None) -> Iterator[tuple[Track, float, list[float], list[float]]]:
        """(request, its end as of ``now``, its work and its time in flight in each interval) for every request
        overlapping ``intervals``, in the order of :meth:`candidates`."""
        lo, hi = intervals[0].t0, intervals[-1].t1
        for tr in self.candidates(lo, hi):
            end = tr.end if tr.end is not None else (now if now is not None else hi)
            start = tr.start
            if start >= hi or (end < lo) or (end == lo and start < lo):
                continue
            if len(intervals) == 1:  # the usual case (a receipt's own last interval), from the tail cache
                cache = tr.tail_cache if tr.end is not None and end < hi else None
                if cache is not None and cache[0] == lo:
                    work, flight = cache[1], cache[2]
                else:
                    work, flight = self._in_one(tr, lo, hi, end, now)
                yield tr, end, [work], [flight]
            else:
                yield tr, end, self._works(tr, intervals, now), [max(0.0, min(iv.t1, end) - max(iv.t0, start))
                                                                  for iv in intervals]

    def _works(self, tr: Track, intervals: list[Interval], now: float | None) -> list[float]:
        """A request's work in each of ``intervals``, its open part counted as of ``now``."""
        w = self.config.prefill_weight
        ws = works_over(tr.segments, tr.cursor, intervals, tr.prompt_scale * w, tr.gen_scale)
        open_seg = tr.open_segment(now) if now is not None else None
        if open_seg is not None:
            ws = [x + y for x, y in zip(ws, works_over([open_seg], 0, intervals, w, 1.0))]
        return ws

    def _in_one(self, tr: Track, a: float, b: float, end: float, now: float | None) -> tuple[float, float]:
        """A request's (work, time in flight) inside one interval ``[a, b)``.

        An ended request's figures inside ``[a, b)`` are the same for every ``b`` past its end (all its
        segments lie before ``b``): kept in ``tail_cache`` for the receipts that follow (read by the
        caller)."""
        w = self.config.prefill_weight
        work = work_in_one(tr.segments, tr.cursor, a, b, tr.prompt_scale * w, tr.gen_scale)
        open_seg = tr.open_segment(now) if now is not None else None
        if open_seg is not None:
            work = work + work_in_one((open_seg,), 0, a, b, w, 1.0)
        start = tr.start
        flight = (b if b < end else end) - (a if a > start else start)  # max(0, min(b, end) - max(a, start))
        if not flight > 0.0:
            flight = 0.0
        if tr.end is not None and end < b:
            tr.tail_cache = (a, work, flight)
        return work, flight
