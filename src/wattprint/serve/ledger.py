"""The ledger: requests' token timelines, measured intervals, and the split that settles them.

Not thread-safe by itself: :class:`wattprint.serve.accountant.Accountant` holds one lock around it.

An interval is *final* once every request that overlaps it has ended (so that its token counts, which the
upstream's ``usage`` may correct at the end, are known). Until then it waits in ``pending``; a request
overlapping a pending interval for longer than ``max_lag_s`` gets its open part counted as it stands
(``forced``), so the fleet figures never wait for ever on a stuck request. Final splits go to the requests
(``Track.final_*``) and to the fleet totals; a request whose every interval is final is *settled*.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
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


@dataclass
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
    final_until: float = 0.0
    forced: bool = False
    # (a, work, time in flight) of this ended request inside any [a, b) with b > end (Ledger._shares_of)
    tail_cache: tuple[float, float, float] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.last_t = self.start

    @property
    def prompt_pending(self) -> bool:
        return not self.segments

    def tokens(self) -> tuple[int, int]:
        """(prompt, completion) tokens as best known: usage when reported, else counted or estimated."""
        if self.usage:
            return int(self.usage.get("prompt_tokens", 0)), int(self.usage.get("completion_tokens", 0))
        return round(self.prompt_tokens), round(self.generated)

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


@dataclass(frozen=True)
class LedgerConfig:
    policy: IdlePolicy = IdlePolicy.EVEN
    prefill_weight: float = 1.0  # weight of a prompt token against a generated one
    max_lag_s: float = 600.0

    def __post_init__(self) -> None:
        if self.prefill_weight < 0 or self.max_lag_s <= 0:
            raise ValueError("prefill_weight must be >= 0 and max_lag_s > 0")


class Ledger:
    """Tracks, pending intervals and fleet totals. ``on_final(interval, split)`` and
    ``on_settled(track)`` are called (under the owner's lock) as figures become final."""

    def __init__(self, config: LedgerConfig | None = None,
                 on_final: Callable[[Interval, Split], None] | None = None,
                 on_settled: Callable[[Track], None] | None = None) -> None:
        self.config = config or LedgerConfig()
        self.tracks: dict[str, Track] = {}
        self.pending: deque[Interval] = deque()
        self.totals = Totals()
        self.measured_until: float | None = None
        self.last_interval: Interval | None = None
        self._on_final = on_final
        self._on_settled = on_settled
        # settle() shortcut: when the last settle left nothing pending, every request that ended by
        # measured_until was settled then, so only those closed since can settle now
        self._clean = True
        self._closed: list[Track] = []

    # ---- request events -------------------------------------------------------------------------
    def open(self, track: Track) -> None:
        self.tracks[track.id] = track

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
        tr.generated += generated
        tr.last_t = t

    def close(self, rid: str, t: float, usage: dict[str, int] | None, completed: bool) -> Track:
        """End a request at ``t``. ``usage`` (OpenAI's prompt/completion tokens) corrects the counts."""
        tr = self.tracks[rid]
        t = max(t, tr.last_t)
        completion = float(usage.get("completion_tokens", 0)) if usage else 0.0
        if tr.prompt_pending:  # never streamed: all work spread over the whole request
            tr.segments.append(Segment(tr.start, t, prompt=tr.prompt_tokens, generated=completion))
            tr.generated = completion
        elif t > tr.last_t:
            tr.segments.append(Segment(tr.last_t, t))
        if usage:
            tr.usage = {k: int(v) for k, v in usage.items() if isinstance(v, (int, float))}
            if "prompt_tokens" in usage and tr.prompt_tokens > 0:
                tr.prompt_scale = usage["prompt_tokens"] / tr.prompt_tokens
            if "completion_tokens" in usage and tr.generated > 0:
                tr.gen_scale = usage["completion_tokens"] / tr.generated
        tr.last_t = t
        tr.end = t
        tr.completed = completed
        self._closed.append(tr)
        return tr

    # ---- meter intervals ------------------------------------------------------------------------
    def add_interval(self, interval: Interval, now: float) -> None:
        self.pending.append(interval)
        self.measured_until = interval.t1
        self.last_interval = interval
        self.settle(now)

    def settle(self, now: float) -> None:
        """Finalise every pending interval that can be, oldest first; then settle finished requests."""
        closed, self._closed = self._closed, []
        if not self.pending and self._clean and len(closed) <= 1:  # the usual case, on every receipt
            until = self.measured_until
            for tr in closed:
                if until is not None and tr.end is not None and until >= tr.end and tr.id in self.tracks:
                    del self.tracks[tr.id]
                    if self._on_settled:
                        self._on_settled(tr)
            return
        while self.pending:
            iv = self.pending[0]
            blockers = [tr for tr in self.tracks.values() if tr.start < iv.t1 and tr.end is None]
            if blockers and now - iv.t1 < self.config.max_lag_s:
                break
            self.pending.popleft()
            self._finalise(iv, forced=bool(blockers), now=now)
        self._clean = not self.pending
        until = self.measured_until if not self.pending else self.pending[0].t0
        for tr in [tr for tr in self.tracks.values() if tr.end is not None and until is not None
                   and until >= tr.end]:
            del self.tracks[tr.id]
            if self._on_settled:
                self._on_settled(tr)

    def _finalise(self, iv: Interval, forced: bool, now: float) -> None:
        split = self.split(iv, now if forced else None, final=True)
        for rid, share in split.shares.items():
            tr = self.tracks[rid]
            add_into(tr.final_dynamic_j, share.dynamic_j.items())
            add_into(tr.final_idle_j, share.idle_j.items())
        for tr in self.tracks.values():
            if tr.start < iv.t1:
                tr.final_until = iv.t1
                tr.forced = tr.forced or (forced and tr.end is None)
        self.totals.add(iv, split)
        if self._on_final:
            self._on_final(iv, split)

    def split(self, iv: Interval, now: float | None, final: bool = False) -> Split:
        """Split one interval; see :meth:`split_many`. ``final`` moves the tracks' cursors past it."""
        result = self.split_many([iv], now)[0]
        if final:
            for tr in self.tracks.values():
                tr.cursor = advance_cursor(tr.segments, tr.cursor, iv.t1)
        return result

    def split_many(self, intervals: list[Interval], now: float | None, only: str | None = None) -> list[Split]:
        """Split consecutive intervals; open requests count their open part provisionally as of ``now``
        (not at all when ``now`` is None). With ``only``, each Split holds that request's share alone."""
        if not intervals:
            return []
        if only is not None:
            return self._shares_of(intervals, now, only)
        lo, hi = intervals[0].t0, intervals[-1].t1
        w = self.config.prefill_weight
        works: dict[str, list[float]] = {}
        flights: dict[str, list[float]] = {}
        spans: list[tuple[float, float]] = []
        for tr in self.tracks.values():
            end = tr.end if tr.end is not None else (now if now is not None else hi)
            if tr.start >= hi or (end < lo) or (end == lo and tr.start < lo):
                continue
            ws = works_over(tr.segments, tr.cursor, intervals, tr.prompt_scale * w, tr.gen_scale)
            open_seg = tr.open_segment(now) if now is not None else None
            if open_seg is not None:
                ws = [a + b for a, b in zip(ws, works_over([open_seg], 0, intervals, w, 1.0))]
            works[tr.id] = ws
            flights[tr.id] = [max(0.0, min(iv.t1, end) - max(iv.t0, tr.start)) for iv in intervals]
            spans.append((tr.start, end))
        out = []
        for j, iv in enumerate(intervals):
            work = {rid: ws[j] for rid, ws in works.items() if ws[j] > 0 or flights[rid][j] > 0}
            flight = {rid: flights[rid][j] for rid in work}
            busy = busy_seconds(spans, iv.t0, iv.t1)
            out.append(split_interval(iv, work, flight, self.config.policy, busy))
        return out

    def _shares_of(self, intervals: list[Interval], now: float | None, rid: str) -> list[Split]:
        """:meth:`split_many` with ``only``: the same figures (the same sums in the same order, so the same
        floats) from running totals per interval instead of everyone's work and time in dicts; a receipt
        is issued with this on every request."""
        lo, hi = intervals[0].t0, intervals[-1].t1
        w = self.config.prefill_weight
        m = len(intervals)
        one = m == 1
        a = b = 0.0
        if one:
            a, b = lo, hi
        total_work = [0.0] * m
        total_time = [0.0] * m
        mine_work = [0.0] * m
        mine_time = [0.0] * m
        spans: list[tuple[float, float]] = []
        for tr in self.tracks.values():
            end = tr.end if tr.end is not None else (now if now is not None else hi)
            start = tr.start
            if start >= hi or (end < lo) or (end == lo and start < lo):
                continue
            if one:
                # An ended request's work and time inside [a, b) are the same for every b past its end
                # (all its segments lie before b): computed once per a, for all the receipts that follow.
                cache = tr.tail_cache if tr.end is not None and end < b else None
                if cache is not None and cache[0] == a:
                    work, flight = cache[1], cache[2]
                else:
                    work = work_in_one(tr.segments, tr.cursor, a, b, tr.prompt_scale * w, tr.gen_scale)
                    open_seg = tr.open_segment(now) if now is not None else None
                    if open_seg is not None:
                        work = work + work_in_one((open_seg,), 0, a, b, w, 1.0)
                    flight = (b if b < end else end) - (a if a > start else start)  # max(0, min(b, end) - max(a, start))
                    if not flight > 0.0:
                        flight = 0.0
                    if tr.end is not None and end < b:
                        tr.tail_cache = (a, work, flight)
                total_work[0] += work
                total_time[0] += flight
                if tr.id == rid:
                    mine_work[0], mine_time[0] = work, flight
            else:
                open_seg = tr.open_segment(now) if now is not None else None
                ws = works_over(tr.segments, tr.cursor, intervals, tr.prompt_scale * w, tr.gen_scale)
                if open_seg is not None:
                    ws = [x + y for x, y in zip(ws, works_over([open_seg], 0, intervals, w, 1.0))]
                mine = tr.id == rid
                for j, iv in enumerate(intervals):
                    flight = max(0.0, min(iv.t1, end) - max(iv.t0, start))
                    total_work[j] += ws[j]
                    total_time[j] += flight
                    if mine:
                        mine_work[j], mine_time[j] = ws[j], flight
            spans.append((start, end))
        policy = self.config.policy
        return [Split({rid: share_from_totals(iv, mine_work[j], total_work[j], mine_time[j], total_time[j], policy,
                                              busy_seconds(spans, iv.t0, iv.t1))}, {}, {})
                for j, iv in enumerate(intervals)]
