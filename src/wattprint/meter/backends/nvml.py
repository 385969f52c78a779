"""NVIDIA GPUs through NVML (nvidia-ml-py). The NVML module is a parameter, so a stand-in can be injected.

Per GPU, a :class:`~wattprint.meter.timeline.Timeline` holds the instantaneous power field
(``NVML_FI_DEV_POWER_INSTANT``: 11 µs per read on an H100, follows the load ~20 ms late) sampled every
``power_period_s``, and readings of the total energy counter (``nvmlDeviceGetTotalEnergyConsumption``:
4.6 ms of CPU per read on an H100, refreshed every 100 ms). Measured there: the counter's refreshes are
not the power field's, so the sampler finds the counter's own refresh phase by polling it until it
changes (at start, then every ``resync_s``) and files every reading under the refresh it belongs to.
Window edges read nothing: they ask the sampler (without waiting) for a reading in the refresh interval
of the edge and in the next two (the next one's mean power tells how the cut interval splits), within a budget of
``counter_reads_per_s`` (the CPU cost), spent where windows are (see BURST_READS). A window of
at least ``sync_counter_s`` also reads the counter once at its end (4.6 ms, under 0.5% of it).
GPUs without the counter (before Volta) are sampled and integrated (method "sampled"). The sampler is told when
the backend is next due (``poll`` returns the delay): once per counter refresh interval, just after it, and at
once when an edge asks for its own interval (``set_waker``).
``nvmlDeviceGetPowerUsage`` is a lagging ~1 s average on recent GPUs: used only if the field is missing,
with a warning.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from wattprint.core.clock import Clock, SystemClock
from wattprint.core.errors import BackendUnavailable
from wattprint.meter.backends.base import BackendResult, Mark
from wattprint.meter.result import ComponentEnergy, Kind
from wattprint.meter.timeline import Timeline, TimelineConfig
from wattprint.meter.visible import Selected, select

FI_POWER_INSTANT = 186  # NVML_FI_DEV_POWER_INSTANT (nvml.h)
# A counter read starting this soon after a refresh (as the phase search placed it, +-half a read: ~2.3 ms
# on an H100) may still return the previous refresh's value, and one starting this soon before it may
# already return the next one's (simulated: a reading filed one refresh early, 7 J on a 238 J window): it
# is read again once past the refresh and this margin.
REFRESH_GUARD_S = 0.003
# The counter-read budget (each read ~3 ms of CPU on Hopper, docs/benchmarks/nvml_call_cost.md) is spent where
# windows are. It refills at OPEN_RATE_X x counter_reads_per_s at all times, up to BURST_READS. With no window
# open only the periodic read is taken (every counter_period_s) and the rest is saved for the next window;
# while a window is open spare reads take every refresh interval (keeping OPEN_RESERVE reads for the intervals
# an end edge asks for). Long-run cost: the periodic read with no window open, never more than OPEN_RATE_X x
# counter_reads_per_s however windows come. (Until 2026-11-28 the bucket refilled at counter_reads_per_s while
# no window was open: a short window every 2-3 s then found ~1.5 reads saved where its edges ask for ~5, and
# was priced from the power field; the same worst-case cost now serves windows that come apart.)
BURST_READS = 12.0
OPEN_RATE_X = 3.0
OPEN_RESERVE = 3.0
# A reading that has not moved since an earlier refresh interval's (the refresh came late) is read again once,
# this long after; a GPU's counter moves by >= ~6 J per 100 ms even idle.
LATE_RETRY_S = 0.02
PHASE_RETRY_S = 5.0  # after a failed refresh-phase search (it costs up to ~2.5 refreshes of counter reads)
EDGE_POLL_S = 0.05  # the sampler's period before a counter's refresh phase is known
# Once the first GPU's counter phase is known the sampler polls once per refresh interval, this long after each
# refresh (mid-interval): every interval an edge asks a reading in gets exactly one chance, at 10 wake-ups per
# second (free-running 50 ms polls took 20 and still missed intervals now and then); an edge that asks for its
# own interval after that interval's poll wakes the sampler at once (set_waker). Mid-interval rather than just
# after the refresh: counter reads stay clear of REFRESH_GUARD_S, and the power field (which refreshes 10-33 ms
# after the counter on an H100) is read 17-40 ms after its refresh instead of ~70-95 ms (a value stamped at its
# read time is held that much late). Simulated (back-to-back irregular windows, field 15-30 ms behind the
# counter): median error 0.34 s 8.6-11% (6 ms slot: 14-21%), 1.07 s 0.13% (1.0-1.2%).
POLL_AFTER_REFRESH_S = 0.05


@dataclass(frozen=True)
class NvmlConfig:
    """Periods in seconds. ``counter_reads_per_s`` sets the counter-read budget (each ~3 ms of CPU on Hopper):
    it refills at OPEN_RATE_X times that rate, is saved (up to BURST_READS) while no window is open and spent
    where windows are. ``use_counter=False`` forces the sampled method."""

    # Defaults from the H100 costs (docs/benchmarks/meter_h100.md): a power poll ~0.25 ms of CPU, a counter
    # read 4.35 ms; at 1 poll/50 ms and 1 read/s the thread took 1.4-1.7% of a core, over the 1% target.
    power_period_s: float = 0.1
    counter_period_s: float = 4.0
    counter_reads_per_s: float = 0.5
    sync_counter_s: float = 1.0
    resync_s: float = 120.0
    use_counter: bool = True
    timeline: TimelineConfig = field(default_factory=TimelineConfig)

    def __post_init__(self) -> None:
        if not 0 < self.power_period_s <= 0.1:
            raise ValueError("power_period_s must be in (0, 0.1] s: sampled GPUs need <= 100 ms")
        if self.counter_period_s <= 0 or self.counter_reads_per_s <= 0:
            raise ValueError("counter_period_s and counter_reads_per_s must be positive")


class _Gpu:
    def __init__(self, nvml: Any, sel: Selected, cfg: NvmlConfig, clock: Clock) -> None:
        self.nvml = nvml
        self.clock = clock
        self.now = clock.monotonic
        self.cfg = cfg
        self.sel = sel
        self.has_counter = cfg.use_counter and _has_counter(nvml, sel.handle)
        self.power_read, self.power_source = _power_reader(nvml, sel.handle)
        self.timeline = Timeline(cfg.timeline, has_counter=self.has_counter)
        self.error = ""
        self.phase: float | None = None  # a refresh instant of the counter
        self.period = cfg.timeline.update_period_s
        self.synced_at: float | None = None
        self.last_read_k: int | None = None  # refresh index of the latest reading
        self.counter_reads = 0
        self.late_refreshes = 0  # readings that still held an earlier refresh's value (not filed)

    def _stamp(self, read: Any) -> tuple[float, float, float]:
        a = self.now()
        v = read()
        return a, self.now(), v

    def poll_power(self) -> None:
        if self.timeline.lost_at is not None:
            return
        try:
            a, b, w = self._stamp(self.power_read)
        except self.nvml.NVMLError as e:
            self._lost(e)
            return
        self.timeline.add_power((a + b) / 2, w)

    def _counter(self) -> tuple[float, float, float]:
        self.counter_reads += 1  # benchmarks: reads per second (each ~3 ms of CPU on Hopper)
        return self._stamp(lambda: self.nvml.nvmlDeviceGetTotalEnergyConsumption(self.sel.handle) / 1000.0)

    def refresh_index(self, t: float) -> int | None:
        return None if self.phase is None else math.floor((t - self.phase) / self.period)

    def read_counter(self) -> bool:
        """One reading, filed under its refresh when the phase is known. False if the GPU was lost."""
        if not self.has_counter or self.timeline.lost_at is not None:
            return False
        late_retried = False
        for _ in range(3):  # a read that straddles a refresh, or starts just after one, is ambiguous: again
            try:
                a, b, e = self._counter()
            except self.nvml.NVMLError as err:
                self._lost(err)
                return False
            ka, kb = self.refresh_index(a), self.refresh_index(b)
            if ka is None:
                self.timeline.add_counter((a + b) / 2, e)
                return True
            early = self.phase + ka * self.period + REFRESH_GUARD_S - a
            if early > 0:  # just after a refresh, as far as the phase is known: the value may be the old one
                self.clock.sleep(early)
                continue
            late = self.phase + (ka + 1) * self.period - a
            if late < REFRESH_GUARD_S:  # just before one: the value may already be the next refresh's
                self.clock.sleep(late + REFRESH_GUARD_S)
                continue
            if ka == kb:
                t = self.phase + ka * self.period
                before = self.timeline.counter_before(t)
                if before is not None and e <= before:
                    # the counter has not moved since an earlier interval's reading: this interval's refresh
                    # is late (an H200 showed it), so the value is the previous refresh's; filed here it
                    # would give this interval nothing and the next twice its energy. Read again once,
                    # shortly (a counter that never moves costs one extra read, not a loop of them).
                    self.late_refreshes += 1
                    if late_retried:
                        return True
                    late_retried = True
                    self.clock.sleep(LATE_RETRY_S)
                    continue
                self.timeline.add_counter(t, e, aligned=True)
                self.last_read_k = ka
                return True
        return True

    def sync_phase(self) -> None:
        """Poll the counter until its value changes: the change marks a refresh (+-half a read)."""
        if not self.has_counter or self.timeline.lost_at is not None:
            return
        try:
            a0, b0, first = self._counter()
            prev_b, deadline, retried = b0, b0 + 2.5 * self.period, False
            for _ in range(300):  # ~25 reads on an H100; bounded whatever the clock does
                if self.now() >= deadline:
                    break
                a, b, e = self._counter()
                if e != first:
                    if b - prev_b > 0.012:  # the thread was held up: this refresh is not pinned down ...
                        if retried:
                            break
                        # ... so watch for the next one (a busy process holds the GIL now and then: giving
                        # up here left whole benchmark jobs on the power field on an H100, h100.md)
                        first, prev_b, retried = e, b, True
                        deadline = max(deadline, b + 1.5 * self.period)
                        continue
                    self._set_phase((prev_b + b) / 2, b)
                    return
                prev_b = b
                if b - a < 0.001:  # a fast read (not an H100): pace the polling instead of spinning
                    self.clock.sleep(0.001)
                    prev_b = self.now()
        except self.nvml.NVMLError as err:
            self._lost(err)
            return
        self.synced_at = self.now()  # no refresh seen: try again later, readings stay unaligned

    def _set_phase(self, t: float, now: float) -> None:
        if self.phase is not None and self.synced_at is not None and now - self.synced_at > 5:
            n = round((t - self.phase) / self.period)
            if n > 0 and abs((t - self.phase) / n - self.period) < 0.01 * self.period:
                self.period = (t - self.phase) / n  # refine the period from two far-apart refreshes
        self.phase, self.synced_at = t, now

    def _lost(self, e: Exception) -> None:
        self.error = f"{type(e).__name__}: {e}"
        self.timeline.mark_lost(self.now())


def _has_counter(nvml: Any, handle: Any) -> bool:
    try:
        nvml.nvmlDeviceGetTotalEnergyConsumption(handle)
    except nvml.NVMLError:
        return False
    return True


def _field_value(fv: Any) -> float:
    vt = fv.valueType
    v = fv.value
    return float({0: v.dVal, 1: v.uiVal, 2: v.ulVal, 3: v.ullVal, 4: v.sllVal, 5: v.siVal}.get(vt, v.uiVal))


def _power_reader(nvml: Any, handle: Any) -> tuple[Any, str]:
    """A function returning watts: the instant field if it answers, else the (lagging) average."""

    def instant() -> float:
        fv = nvml.nvmlDeviceGetFieldValues(handle, [FI_POWER_INSTANT])[0]
        if fv.nvmlReturn != 0:
            raise nvml.NVMLError(fv.nvmlReturn)
        return _field_value(fv) / 1000.0

    try:
        instant()
        return instant, "NVML_FI_DEV_POWER_INSTANT"
    except (nvml.NVMLError, AttributeError, IndexError):
        return (lambda: nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0), "nvmlDeviceGetPowerUsage (~1 s average)"


class NvmlBackend:
    """NVIDIA GPUs. ``gpus``: "visible" (default), a list of NVML indices or UUIDs. ``env``: for tests."""

    source = "nvml"

    def __init__(self, nvml: Any, gpus: Any = "visible", config: NvmlConfig | None = None,
                 env: Mapping[str, str] | None = None, clock: Clock | None = None) -> None:
        import os

        self.config = config or NvmlConfig()
        self.nvml = nvml
        try:
            nvml.nvmlInit()
        except nvml.NVMLError as e:
            raise BackendUnavailable(f"NVML did not initialise: {e}",
                                     fix="install the NVIDIA driver, or run where a GPU is visible") from e
        selected, self.select_warnings = select(nvml, gpus, os.environ if env is None else env)
        self.gpus = [_Gpu(nvml, s, self.config, clock or SystemClock()) for s in selected]
        # Polls come twice per counter refresh so that every refresh interval a window edge asks a reading
        # in gets one (at one poll per 100 ms, drifting against the refresh, some intervals got none and
        # a short window fell back to the field); the power field is still read every power_period_s.
        counters = any(g.has_counter for g in self.gpus)
        self.poll_period_s = (min(self.config.power_period_s, EDGE_POLL_S) if counters
                              else self.config.power_period_s) if self.gpus else None  # until poll() says
        self._power_due = -math.inf
        self._next_counter = 0.0
        self._tokens = 3.0
        self._tokens_at: float | None = None
        self._polled = False
        self._wanted: set[int] = set()  # refresh intervals that window edges want a reading in
        self._open = 0  # windows begun and not ended: while any is, every interval is wanted (budget left)
        self._lock = threading.Lock()
        self._waker: Any = None  # makes the sampler poll now (set by the Meter)

    def set_waker(self, wake: Any) -> None:
        """``wake()`` makes the sampler poll this backend at once; an edge calls it when it asks for a reading
        in its own refresh interval (so that the reading comes in that interval, not up to a period late)."""
        self._waker = wake

    def set_counter_reads_per_s(self, reads_per_s: float) -> None:
        """Change the counter-read budget (``Meter(counter_reads_per_s=...)`` on injected backends)."""
        self.config = replace(self.config, counter_reads_per_s=float(reads_per_s))

    def describe(self) -> list[str]:
        return [f"gpu:{g.sel.nvml_index} {g.sel.name} {g.sel.uuid} "
                f"({'counter' if g.has_counter else 'sampled'}, {g.power_source})" for g in self.gpus]

    @property
    def _every_refresh(self) -> bool:
        """Whether the budget pays for a read at every refresh of every counter (5% slack for a refresh
        period measured a little under its nominal 100 ms)."""
        counters = [g for g in self.gpus if g.has_counter and g.timeline.lost_at is None]
        return bool(counters) and (self.config.counter_reads_per_s * min(g.period for g in counters)
                                   >= 0.95 * len(counters))

    def _tokens_now(self, now: float) -> float:
        """The budget's reads at time ``now``: refilled at OPEN_RATE_X x counter_reads_per_s since the last
        spend, up to BURST_READS (with no window open only the periodic read spends it: the rest is saved)."""
        if self._tokens_at is None:
            return self._tokens
        rate = self.config.counter_reads_per_s * OPEN_RATE_X
        return min(BURST_READS, self._tokens + (now - self._tokens_at) * rate)

    def _spend(self, now: float, reserve: float = 0.0) -> bool:
        """Token bucket: counter reads cost ~3 ms of CPU each on Hopper; keep them within budget."""
        self._tokens = self._tokens_now(now)
        self._tokens_at = now
        if self._tokens < 1.0 + reserve:  # reads inside open windows leave a reserve for edge requests
            return False
        self._tokens -= 1.0
        return True

    def _affordable(self, now: float) -> bool:
        """Whether the budget has a read left now (read without taking it: a wake-up that cannot read is wasted;
        one costs ~0.1-0.2 ms of CPU). Called at edges, racing the sampler harmlessly (a float read)."""
        return self._tokens_at is None or self._tokens_now(now) >= 1.0

    def ready(self) -> bool:
        """Whether the sampler has taken its first readings and searched for each counter's refresh phase."""
        return self._polled and all(not g.has_counter or g.synced_at is not None or g.timeline.lost_at is not None
                                    for g in self.gpus)

    def poll(self, now: float) -> float:
        """One round of readings; returns the delay until the next round is due (the sampler's schedule): the
        next poll slot of the first GPU with a counter (POLL_AFTER_REFRESH_S after each of its refreshes),
        EDGE_POLL_S while its refresh phase is unknown, power_period_s without a counter. Steady cost on
        Hopper: 10 power reads/s plus the counter budget; an edge's wake-up can add a round (set_waker)."""
        first, self._polled = not self._polled, True
        power = now >= self._power_due or self.poll_period_s == self.config.power_period_s
        if power:
            self._power_due = now + 0.9 * self.config.power_period_s
        for g in self.gpus:
            if power:
                g.poll_power()
            if not g.has_counter:
                continue
            if first:  # at construction: one plain reading; the sampler thread finds the phase
                g.read_counter()
                continue
            # no phase yet: try again soon (every window until then rests on the power field)
            retry = self.config.resync_s if g.phase is not None else PHASE_RETRY_S
            if g.synced_at is None or now - g.synced_at > retry:
                g.sync_phase()
                continue
            k = g.refresh_index(now)
            with self._lock:
                fresh = g.last_read_k != k
                want = fresh and k in self._wanted
                is_open = self._open > 0
                self._wanted = {w for w in self._wanted if w >= k}
            due = now >= self._next_counter
            # budget beyond what edges ask for reads every interval while a window is open (its cut intervals
            # need their neighbours), keeping a reserve for the end edge's requests; with no window open it is
            # saved (up to BURST_READS) for the next window, unless it pays for a read at every refresh of
            # every counter (a bought budget, e.g. the bench runner's 10/s): then the interval before a
            # window's begin has its reading too, and the begin's cut interval is priced from both sides
            spare = fresh and not due and (is_open or self._every_refresh)
            if ((want or due) and self._spend(now)) or (spare and self._spend(now, reserve=OPEN_RESERVE)):
                g.read_counter()
                if due:
                    self._next_counter = now + self.config.counter_period_s
        return self._next_poll(now)

    def _next_poll(self, now: float) -> float:
        lead = next((g for g in self.gpus if g.has_counter and g.timeline.lost_at is None), None)
        if lead is None:
            return self.config.power_period_s
        if lead.phase is None:
            return EDGE_POLL_S
        slot = lead.phase + POLL_AFTER_REFRESH_S  # polls at slot + k * period
        k = math.floor((now - slot) / lead.period + 1e-6)  # the slot just passed (a poll on time counts as it)
        return max(slot + (k + 1) * lead.period - now, 0.001)

    def mark(self, now: float, begin: Mark | None = None) -> Mark:
        with self._lock:  # a window's cut intervals at both ends need the readings around them
            self._open = max(self._open + (1 if begin is None else -1), 0)
        if begin is not None and now - begin.t >= self.config.sync_counter_s:
            for g in self.gpus:  # long window: one counter read anchors its end (cost << 0.5%)
                g.read_counter()
        for g in self.gpus[:1]:  # ask the sampler for readings around this edge (never waits)
            k = g.refresh_index(now)
            if k is not None:
                with self._lock:
                    new = k not in self._wanted and g.last_read_k != k
                    self._wanted.update((k, k + 1, k + 2))  # the edge's interval and the next two
                if new and self._waker is not None and self._affordable(now):
                    self._waker()  # this interval's reading now, not at the next poll (maybe past the refresh)
        return Mark(now)

    def settled(self, t: float) -> bool:
        """Whether the readings that describe time ``t`` have arrived: the one closing the refresh interval cut
        at ``t`` and the next (that interval's mean power prices the part after ``t``; without it the part was
        shared by time, the idle after a window's work counted in it: -1.7% on simulated 1.07 s windows)."""
        return all(not g.has_counter or g.timeline.lost_at is not None or g.phase is None
                   or g.timeline.has_counter_after(t + g.period) for g in self.gpus)

    def energy(self, begin: Mark, end: Mark) -> BackendResult:
        comps, warns = [], list(self.select_warnings)
        for g in self.gpus:
            r = g.timeline.resolve(begin.t, end.t)
            comps.append(self._component(g, r, end.t - begin.t))
            if r.lost_at is not None and r.lost_at < end.t:
                warns.append(f"GPU {g.sel.nvml_index} ({g.sel.uuid}) was lost "
                             f"{max(r.lost_at - begin.t, 0):.3f} s into window ({g.error}): energy counted "
                             "up to the loss")
            elif g.has_counter and end.t - begin.t < g.timeline.config.update_period_s:
                warns.append(f"window {end.t - begin.t:.4f} s is shorter than GPU {g.sel.nvml_index}'s "
                             f"~{g.timeline.config.update_period_s} s counter update: its energy is instant "
                             "power x time, see its uncertainty")
        return BackendResult(tuple(comps), tuple(dict.fromkeys(warns)))

    def _component(self, g: _Gpu, r: Any, duration: float) -> ComponentEnergy:
        if g.has_counter:
            detail = (f"nvmlDeviceGetTotalEnergyConsumption anchors {r.anchored_fraction:.0%} of the window; "
                      f"rest: {g.power_source} x{r.scale:.3f} (counter/instant ratio)")
        else:
            why = "no energy counter on this GPU" if self.config.use_counter else "use_counter=False"
            detail = f"{g.power_source} every {self.config.power_period_s * 1000:.0f} ms, integrated ({why})"
        return ComponentEnergy(
            kind=Kind.GPU, name=g.sel.name, energy_j=r.energy_j, method=r.method,
            uncertainty_j=r.uncertainty_j, source="nvml", index=g.sel.nvml_index, uuid=g.sel.uuid,
            scope="device", detail=detail + (f"; {g.sel.note}" if g.sel.note else ""), samples=r.samples)

    def keep_since(self, t: float) -> None:
        for g in self.gpus:
            g.timeline.prune(t - g.timeline.config.history_s)

    def close(self) -> None:
        try:
            self.nvml.nvmlShutdown()
        except self.nvml.NVMLError:
            pass  # shutting down a library that already failed: nothing left to release

