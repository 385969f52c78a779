"""One NVIDIA GPU's timeline: its power polled, its counter read and filed under the refresh it belongs to."""

from __future__ import annotations

from typing import Any

from wattprint.core.clock import Clock
from wattprint.meter.backends.nvml import device
from wattprint.meter.backends.nvml.config import NvmlConfig
from wattprint.meter.backends.nvml.phase import RefreshPhase
from wattprint.meter.timeline import Timeline
from wattprint.meter.visible import Selected


class Gpu:
    """A selected GPU: power and counter readings into a :class:`~wattprint.meter.timeline.Timeline`."""

    def __init__(self, nvml: Any, sel: Selected, cfg: NvmlConfig, clock: Clock) -> None:
        self.nvml = nvml
        self.clock = clock
        self.now = clock.monotonic
        self.cfg = cfg
        self.sel = sel
        self.has_counter = cfg.use_counter and device.has_counter(nvml, sel.handle)
        self.power_read, self.power_source = device.power_reader(nvml, sel.handle)
        self.timeline = Timeline(cfg.timeline, has_counter=self.has_counter)
        self.error = ""
        self.refresh = RefreshPhase(cfg.timeline.update_period_s)
        self.last_read_k: int | None = None  # refresh index of the latest reading
        self.counter_reads = 0  # benchmarks: reads per second (each ~3 ms of CPU on Hopper)
        self.late_refreshes = 0  # readings that still held an earlier refresh's value (not filed)

    @property
    def live(self) -> bool:
        return self.timeline.lost_at is None

    def _stamp(self, read: Any) -> tuple[float, float, float]:
        a = self.now()
        v = read()
        return a, self.now(), v

    def poll_power(self) -> None:
        if not self.live:
            return
        try:
            a, b, w = self._stamp(self.power_read)
        except self.nvml.NVMLError as e:
            self._lost(e)
            return
        self.timeline.add_power((a + b) / 2, w)

    def _counter(self) -> tuple[float, float, float]:
        self.counter_reads += 1
        return self._stamp(lambda: device.counter_j(self.nvml, self.sel.handle))

    def read_counter(self) -> bool:
        """One reading, filed under its refresh when the phase is known. False if the GPU was lost."""
        if not self.has_counter or not self.live:
            return False
        late_retried = False
        for _ in range(3):  # a read that straddles a refresh, or starts just after one, is ambiguous: again
            try:
                a, b, e = self._counter()
            except self.nvml.NVMLError as err:
                self._lost(err)
                return False
            wait, late_refresh = self._file(a, b, e, late_retried)
            if wait is None:
                return True
            late_retried = late_retried or late_refresh
            if wait > 0:
                self.clock.sleep(wait)
        return True

    def _file(self, a: float, b: float, e: float, late_retried: bool) -> tuple[float | None, bool]:
        """File reading ``e`` (read from ``a`` to ``b``) under its refresh interval. Returns how long to wait
        before reading again (None: done) and whether the reading came from a late refresh."""
        ka, kb = self.refresh.index(a), self.refresh.index(b)
        if ka is None:
            self.timeline.add_counter((a + b) / 2, e)
            return None, False
        guard = self.cfg.refresh_guard_s
        early = self.refresh.start(ka) + guard - a
        if early > 0:  # just after a refresh, as far as the phase is known: the value may be the old one
            return early, False
        late = self.refresh.start(ka + 1) - a
        if late < guard:  # just before one: the value may already be the next refresh's
            return late + guard, False
        if ka != kb:  # the read straddled a refresh: read again at once
            return 0.0, False
        t = self.refresh.start(ka)
        before = self.timeline.counter_before(t)
        if before is not None and e <= before:
            # the counter has not moved since an earlier interval's reading: this interval's refresh is late (an
            # H200 showed it), so the value is the previous refresh's; filed here it would give this interval
            # nothing and the next twice its energy. Read again once, shortly (a counter that never moves costs
            # one extra read, not a loop of them).
            self.late_refreshes += 1
            return (None if late_retried else self.cfg.late_retry_s), True
        self.timeline.add_counter(t, e, aligned=True)
        self.last_read_k = ka
        return None, False

    def sync_phase(self) -> None:
        """Find the counter's refresh phase (see :class:`RefreshPhase`)."""
        if not self.has_counter or not self.live:
            return
        try:
            self.refresh.search(self._counter, self.now, self.clock.sleep)
        except self.nvml.NVMLError as err:
            self._lost(err)

    def _lost(self, e: Exception) -> None:
        self.error = f"{type(e).__name__}: {e}"
        self.timeline.mark_lost(self.now())
