"""A per-device timeline of power samples and energy-counter readings, and how a window is resolved.

Why a timeline and not a counter read at each window edge: on an H100, ``nvmlDeviceGetTotalEnergyConsumption``
costs about 3.5 ms per call and its value moves only every ~100 ms (docs/meter.md, /work/shared/GPU.md),
while the instantaneous power field costs about 3 µs and follows the load. So window edges only take a
timestamp; an owned sampler thread records cheap power samples often and counter readings rarely; and a
window's energy is resolved from the timeline when its Measurement is built:

* the counter's increments between readings inside the window are taken whole (hardware-exact);
* a counter interval cut by a window edge gives the window its total less what the part outside used, at
  the outside side's power (the neighbouring interval's exact mean, or the field there); long intervals
  (sparse readings) are shared by the power field, and time is the fallback;
* what lies after the last counter reading (or a whole window shorter than one counter interval) is the
  integral of instantaneous power, scaled by the counter/instant ratio seen over the recent past.

The uncertainty (a ~95% half-width, in joules) combines: the counter's update period at each anchored edge
(a reading is stale by up to one period), and for the instant-power part, the relative bias of the power
field plus the observed variability of power that a held sample cannot follow.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections.abc import Set
from dataclasses import dataclass

from wattprint.meter.result import Method


@dataclass(frozen=True)
class TimelineConfig:
    """Constants of the resolution, with where they come from.

    ``update_period_s``: how often the device refreshes its counter and power fields (H100: ~0.1 s,
    GPU.md). ``field_bias``: relative bias assumed for the instant-power field against the counter (a
    stated allowance, checked by benchmarks/gpu_meter_check.py). ``history_s``: how much past the
    timeline keeps beyond the oldest open window. ``calibration_s``: how far back the counter/instant
    ratio is computed. ``variability_s``: the look-back over which power variability is measured.
    """

    update_period_s: float = 0.1
    field_bias: float = 0.03
    history_s: float = 30.0
    calibration_s: float = 10.0
    variability_s: float = 2.0
    # How late the power field follows the load, for samples held until the next one: the best fit on an
    # H100 was 20 ms (benchmarks/gpu_meter_check.py, docs/benchmarks/gpu_meter_check.md).
    power_lag_s: float = 0.02
    # Timing resolution of a counter reading re-timed to the counter's refresh (phase found by polling the
    # counter until it changes: +-half a read, ~2.3 ms on an H100).
    aligned_resolution_s: float = 0.005
    # Counter intervals shorter than this (a few refreshes) are split by their sides' power or by time: the
    # field holds one or two point samples there, too few for a shape; longer ones are shared by the field.
    shape_min_s: float = 0.35
    # How far beside an edge (in counter intervals) the field is looked at for the outside side's power, and
    # the relative spread of its readings under which that side counts as steady.
    side_intervals: float = 3.0
    side_steady: float = 0.15
    # Counter/instant ratios further from 1 than this are taken for misfiled counter readings, not a field
    # error: the field has never been seen this far from the counter (GPU.md: +6% on a bursty load, 0.3% steady).
    max_field_deviation: float = 0.2

    def __post_init__(self) -> None:
        if self.update_period_s <= 0 or self.history_s <= 0 or self.calibration_s <= 0:
            raise ValueError("timeline periods must be positive")


@dataclass(frozen=True)
class Resolved:
    """The energy of one device over one window."""

    energy_j: float
    uncertainty_j: float
    method: Method
    samples: int  # power samples and counter readings used
    anchored_fraction: float  # share of the window covered by counter increments
    scale: float  # counter / instant-power ratio applied to the unanchored part
    lost_at: float | None = None
    empty: bool = False  # no data at all inside or before the window


class Timeline:
    """Thread-safe record of one device: power samples (W) and cumulative counter readings (J)."""

    def __init__(self, config: TimelineConfig | None = None, has_counter: bool = True) -> None:
        self.config = config or TimelineConfig()
        self.has_counter = has_counter
        self._lock = threading.Lock()
        self._pt: list[float] = []
        self._pw: list[float] = []
        self._ct: list[float] = []
        self._ce: list[float] = []
        self._stale: list[float] = []  # times of counter readings not re-timed to a refresh
        self.lost_at: float | None = None

    # ---- recording (sampler thread or window edge) ----------------------------------------------
    def add_power(self, t: float, watts: float) -> None:
        with self._lock:
            _insert(self._pt, self._pw, t, watts)

    def add_counter(self, t: float, joules: float, aligned: bool = False) -> None:
        """A cumulative reading; ``aligned``: ``t`` is the counter's refresh instant the value belongs to
        (else ``t`` is the read time and the value is up to one update period stale)."""
        with self._lock:
            i = bisect.bisect_left(self._ct, t)
            if i < len(self._ct) and abs(self._ct[i] - t) < 1e-9:
                self._ce[i] = max(self._ce[i], joules)  # the same refresh read twice
                return
            _insert(self._ct, self._ce, t, joules)
            if not aligned:
                self._stale.append(t)

    def mark_lost(self, t: float) -> None:
        with self._lock:
            if self.lost_at is None:
                self.lost_at = t

    def prune(self, before: float) -> None:
        """Forget samples older than ``before`` (keeps one sample before it to hold its value)."""
        with self._lock:
            for ts, vs in ((self._pt, self._pw), (self._ct, self._ce)):
                i = max(0, bisect.bisect_left(ts, before) - 1)
                del ts[:i]
                del vs[:i]
            self._stale = [t for t in self._stale if t >= before - 60.0]

    def snapshot(self) -> tuple[list[float], list[float], list[float], list[float], float | None]:
        with self._lock:
            return list(self._pt), list(self._pw), list(self._ct), list(self._ce), self.lost_at

    def has_counter_after(self, t: float) -> bool:
        with self._lock:
            return bool(self._ct) and self._ct[-1] > t

    def counter_before(self, t: float) -> float | None:
        """The value of the latest counter reading filed before time ``t`` (None if there is none)."""
        with self._lock:
            i = bisect.bisect_left(self._ct, t - 1e-9)
            return self._ce[i - 1] if i > 0 else None

    @property
    def last_counter_time(self) -> float | None:
        with self._lock:
            return self._ct[-1] if self._ct else None

    # ---- resolution ---------------------------------------------------------------------------
    def resolve(self, t0: float, t1: float) -> Resolved:
        """Energy over ``[t0, t1]`` (monotonic seconds), with its uncertainty and method."""
        pt, pw, ct, ce, lost = self.snapshot()
        if lost is not None:
            t1 = min(t1, max(lost, t0))
        if not pt and not ct:
            return Resolved(0.0, 0.0, Method.SAMPLED, 0, 0.0, 1.0, lost, empty=True)
        cfg = self.config
        power = _Power([t - cfg.power_lag_s for t in pt] if cfg.power_lag_s else pt, pw)
        counter = _Counter(ct, ce)
        with self._lock:
            stale_set = set(self._stale)
        # an edge resting on a reading that was not re-timed to its refresh is off by up to a period
        stale = any(t in stale_set for t in counter.near(t0, t1))
        edge_s = cfg.update_period_s if stale else cfg.aligned_resolution_s
        res = _Resolution(cfg, power, counter)
        scale, scale_known = res.calibration(t1 - cfg.calibration_s, t1, stale_set)
        if self.has_counter and ct:
            energy, anchored_s, edges = res.anchored(t0, t1, scale)
        else:
            energy, anchored_s, edges = scale * power.integral(t0, t1), 0.0, []
        duration = max(t1 - t0, 0.0)
        free_s = max(duration - anchored_s, 0.0)
        # the cut intervals' bounds are worst cases that one load shape can drive the same way at both edges
        # (a load that starts with the window: both outside parts priced too high): added, not in quadrature
        unc = math.hypot(self._uncertainty(power, t0, t1, edges, free_s, scale_known, edge_s, scale),
                         sum(res.bounds))
        anchored_fraction = anchored_s / duration if duration > 0 else 0.0
        method = Method.COUNTER if self.has_counter and anchored_fraction >= 0.5 else Method.SAMPLED
        used = power.count(t0, t1) + sum(1 for t in ct if t0 <= t <= t1)
        return Resolved(max(energy, 0.0), unc, method, used, anchored_fraction, scale, lost)

    def _uncertainty(self, power: _Power, t0: float, t1: float, edges: list[float], free_s: float,
                     scale_known: bool, edge_s: float, scale: float = 1.0) -> float:
        cfg = self.config
        tau = cfg.update_period_s
        # A reading's time is known to U(0, edge_s) (tau, or the re-timing resolution once aligned to the
        # counter's refresh): each anchored edge is off by P*delta, sd P*edge_s/sqrt(12); 2 sd.
        var = sum((2 * power.at(t) * edge_s / math.sqrt(12)) ** 2 for t in edges)
        if free_s > 0:
            mean_p = power.mean(t0 - tau, t1) if t1 > t0 else power.at(t1)
            vals = power.values(t1 - cfg.variability_s, t1)
            spread = (max(vals) - min(vals)) if vals else 0.0  # the power may sit anywhere in its recent range
            bias = cfg.field_bias if scale_known else max(cfg.field_bias, 0.05)
            # the counter/instant ratio is learned over other intervals (a dip the field missed there moves
            # it): the correction it applies may itself be wrong by as much
            bias += abs(scale - 1.0)
            # a held sample cannot follow changes faster than tau; they average out over long spans
            follow = spread * math.sqrt(min(1.0, tau / max(free_s, 1e-9)))
            var += (free_s * (bias * mean_p + follow)) ** 2  # added, not in quadrature: they can align
        return math.sqrt(var)


def _insert(ts: list[float], vs: list[float], t: float, v: float) -> None:
    if not ts or t >= ts[-1]:
        ts.append(t)
        vs.append(v)
    else:  # a reading taken at a window edge can arrive after a later sampler reading
        i = bisect.bisect_right(ts, t)
        ts.insert(i, t)
        vs.insert(i, v)


class _Power:
    """Piecewise-constant power: each sample holds until the next; before the first, the first holds."""

    def __init__(self, ts: list[float], ws: list[float]) -> None:
        self.ts = ts
        self.ws = ws

    def at(self, t: float) -> float:
        if not self.ts:
            return 0.0
        i = bisect.bisect_right(self.ts, t) - 1
        return self.ws[max(i, 0)]

    def integral(self, a: float, b: float) -> float:
        if b <= a or not self.ts:
            return 0.0
        ts, ws = self.ts, self.ws
        i = max(bisect.bisect_right(ts, a) - 1, 0)
        total, t = 0.0, a
        while t < b:
            nxt = ts[i + 1] if i + 1 < len(ts) else math.inf
            seg_end = min(max(nxt, t), b)
            total += ws[i] * (seg_end - t)
            t = seg_end
            i += 1
            if i >= len(ts):
                i = len(ts) - 1
                total += ws[i] * (b - t)
                break
        return total

    def mean(self, a: float, b: float) -> float:
        return self.integral(a, b) / (b - a) if b > a else self.at(b)

    def values(self, a: float, b: float) -> list[float]:
        lo = max(bisect.bisect_left(self.ts, a) - 1, 0)
        hi = bisect.bisect_right(self.ts, b)
        return self.ws[lo:hi]

    def readings(self, a: float, b: float) -> list[float]:
        """The samples taken in ``[a, b]``, one per field refresh (a value polled again counts once)."""
        lo, hi = bisect.bisect_left(self.ts, a), bisect.bisect_right(self.ts, b)
        return [w for j, w in enumerate(self.ws[lo:hi], lo) if j == 0 or w != self.ws[j - 1]]

    def count(self, a: float, b: float) -> int:
        return bisect.bisect_right(self.ts, b) - bisect.bisect_left(self.ts, a)


class _Counter:
    """Cumulative counter readings: ``ts[i]`` (s) and ``es[i]`` (J); interval ``i`` runs from reading i to i+1."""

    def __init__(self, ts: list[float], es: list[float]) -> None:
        self.ts = ts
        self.es = es

    def near(self, t0: float, t1: float) -> list[float]:
        """The readings on either side of each edge of ``[t0, t1]``."""
        f, l_ = bisect.bisect_left(self.ts, t0), bisect.bisect_right(self.ts, t1) - 1
        return [self.ts[i] for i in (f - 1, f, l_, l_ + 1) if 0 <= i < len(self.ts)]

    def increment(self, i: int) -> float:
        """The energy of interval ``i``."""
        return self.es[i + 1] - self.es[i]

    def span(self, i: int) -> float:
        return self.ts[i + 1] - self.ts[i]


class _Resolution:
    """One window's resolution against one snapshot of the timeline; ``bounds`` collects the half-widths of
    the parts of counter intervals cut by its edges (a part is bounded, not measured)."""

    def __init__(self, cfg: TimelineConfig, power: _Power, counter: _Counter) -> None:
        self.cfg = cfg
        self.power = power
        self.counter = counter
        self.bounds: list[float] = []

    def calibration(self, a: float, b: float, stale: Set[float]) -> tuple[float, bool]:
        """Counter increments / instant-power integral over counter intervals ending in ``[a, b]``, and whether
        it is known (else 1.0)."""
        power, ct = self.power, self.counter.ts
        num = den = 0.0
        known = power.ts[-1] if power.ts else -math.inf  # past this, power is extrapolated (lag): leave it out
        for i in range(1, len(ct)):
            if ct[i] < a or ct[i] > min(b, known) or not power.ts or ct[i - 1] < power.ts[0]:
                continue
            if ct[i] in stale or ct[i - 1] in stale:  # a stale reading mixes in up to a period more energy
                continue
            num += self.counter.increment(i - 1)
            den += power.integral(ct[i - 1], ct[i])
        if den <= 0 or num <= 0:
            return 1.0, False
        ratio = num / den
        if abs(ratio - 1.0) > self.cfg.max_field_deviation:
            # a ratio like 1.5 means a counter reading filed under the wrong refresh (e.g. while the refresh
            # phase is still being searched), not a field error: ignore it, the uncertainty widens
            return 1.0, False
        return ratio, True

    def anchored(self, t0: float, t1: float, scale: float) -> tuple[float, float, list[float]]:
        """Energy from counter increments where they cover the window. Returns (J, anchored s, edge times)."""
        ct, ce, power = self.counter.ts, self.counter.es, self.power
        f = bisect.bisect_left(ct, t0)  # first reading at or after t0
        l_ = bisect.bisect_right(ct, t1) - 1  # last reading at or before t1
        if f > l_:  # no reading inside: one interval straddles the window, or none does
            if 0 < f < len(ct):
                return self.share(f - 1, t0, t1), t1 - t0, [t0, t1]
            return scale * power.integral(t0, t1), 0.0, []
        energy = ce[l_] - ce[f]
        anchored = ct[l_] - ct[f]
        edges = []
        if f > 0:
            energy += self.share(f - 1, t0, ct[f])
            anchored += ct[f] - t0
            edges.append(t0)
        else:
            energy += scale * power.integral(t0, ct[f])
            edges.append(ct[f])
        if l_ + 1 < len(ct):
            energy += self.share(l_, ct[l_], t1)
            anchored += t1 - ct[l_]
            edges.append(t1)
        else:
            energy += scale * power.integral(ct[l_], t1)
            edges.append(ct[l_])
        return energy, anchored, edges

    def share(self, i: int, a: float, b: float) -> float:
        """The part of counter interval ``i`` that falls in ``[a, b]``.

        Inside a short interval (a few device refreshes) the power field holds one or two point samples:
        they carry no shape (a load periodic at the refresh rate aliases them), so the part is the total less
        what the outside parts used at their own side's power (:meth:`part_by_outside`), else shared in
        proportion to time. A long interval (between sparse readings) is shared by the power samples. The
        half-width of what the part can be, given the interval's total and the power range seen around it,
        goes to ``bounds``.
        """
        ct, power = self.counter.ts, self.power
        whole = self.counter.increment(i)
        lo, hi = max(a, ct[i]), min(b, ct[i + 1])
        if hi <= lo:
            return 0.0
        span = self.counter.span(i)
        if span > self.cfg.shape_min_s:
            den = power.integral(ct[i], ct[i + 1])
            part = whole * power.integral(lo, hi) / den if den > 0 else whole * (hi - lo) / span
        else:
            by_side = self.part_by_outside(i, lo, hi)
            part = whole * (hi - lo) / span if by_side is None else by_side
        if hi - lo < span:
            part = self._bounded(i, part, hi - lo, span - (hi - lo))
        return part

    def _bounded(self, i: int, part: float, d: float, rest: float) -> float:
        """``part`` (J over ``d`` s of interval ``i``) kept within what the power seen around allows: field
        samples, and the exact mean power of this and the neighbouring intervals; its half-width to bounds."""
        ct = self.counter.ts
        whole = self.counter.increment(i)
        means = [self.counter.increment(j) / self.counter.span(j) for j in (i - 1, i, i + 1)
                 if 0 <= j < len(ct) - 1 and ct[j + 1] > ct[j]]
        vals = self.power.values(ct[i] - 0.3, ct[i + 1] + 0.3) + means
        pmin, pmax = min(vals), max(vals)
        lb, ub = max(pmin * d, whole - pmax * rest), min(pmax * d, whole - pmin * rest)
        if ub >= lb:
            part = min(max(part, lb), ub)
            self.bounds.append(max(part - lb, ub - part))  # the estimate need not sit mid-way
        return part

    def part_by_outside(self, i: int, lo: float, hi: float) -> float | None:
        """The part of short counter interval ``i`` in ``[lo, hi]``: its total less what the parts outside the
        window used, each at the power of its own side; a side whose power is unknown shares what is left with
        the window in proportion to time (None when no outside side's power is known).

        Inside one interval the field holds one or two point samples, too few for the window's shape. But the
        side outside a window edge is usually steadier than the window (work starts or stops with the window),
        and an interval shared by time counts that idle into the work (simulated: -8% at 0.34 s, -12% at
        0.137 s). A side's power is the exact mean of the neighbouring counter interval when it was read (edges
        ask for it), else the mean of the field readings there when they show a steady side (a bursty side: one
        reading aliases it, so time decides); the window itself can have any shape. A window inside one
        interval has a side at each end: with one known (the idle after a burst, read at the end edge) and one
        not (bursts before it, in an interval a light budget did not read), the known side is priced and only
        the rest is shared by time (sharing the whole interval by time put 13 ms bursty windows ~44% off on an
        H200; pricing the known side, ~5%).
        """
        ct = self.counter.ts
        c0, c1 = ct[i], ct[i + 1]
        out = unknown = 0.0
        known = False
        reach = self.cfg.side_intervals * (c1 - c0)
        for inside, j, side in ((lo > c0, i - 1, (lo - reach, lo)), (hi < c1, i + 1, (hi, hi + reach))):
            if not inside:
                continue
            d = (lo - c0) if j < i else (c1 - hi)
            p = self._interval_power(j)
            if p is None:
                p = self._steady(self.power.readings(*side))
            if p is None:
                unknown += d
            else:
                out += p * d
                known = True
        if not known:
            return None
        whole = self.counter.increment(i)
        rest = whole - out
        part = rest * (hi - lo) / (hi - lo + unknown) if unknown > 0 else rest
        return min(max(part, 0.0), whole)

    def _steady(self, vals: list[float]) -> float | None:
        """The mean of at least two field readings that agree within ``side_steady``, else None."""
        if len(vals) < 2:
            return None
        mean = sum(vals) / len(vals)
        return mean if mean > 0 and max(vals) - min(vals) <= self.cfg.side_steady * mean else None

    def _interval_power(self, j: int) -> float | None:
        """Exact mean power of counter interval ``j`` if it was read and is about one refresh long."""
        if 0 <= j < len(self.counter.ts) - 1 and 0 < self.counter.span(j) <= self.cfg.shape_min_s:
            return max(self.counter.increment(j), 0.0) / self.counter.span(j)
        return None
