"""Short windows where the load changes at the window's edges, on the simulated NVML.

Reproduces what the H200 comparison (docs/benchmarks/meter_vs_peers.md) showed: a counter interval cut by a
window edge was shared by time, so the idle before a window that starts its work was counted into it (and the
work of its first tens of ms left out): -10 to -20% at 0.1-0.3 s bursty windows in the H200's precise mode,
worse than a plain counter difference. The simulated GPU is H100/H200-like: counter refreshing every 100 ms, power
field refreshing at another phase (47 ms later) and 20 ms behind the load.
Lengths are not whole multiples of the refresh.
"""

from __future__ import annotations

import statistics

import pytest

from wattprint.core.clock import ManualClock
from wattprint.meter.backends.nvml import NvmlBackend, NvmlConfig
from wattprint.meter.meter import Meter
from wattprint.meter.sim.nvml import SimGpu, SimNvml
from wattprint.meter.sim.traces import LiveSteps

IDLE_W, BUSY_W = 120.0, 700.0




class _Bench:
    """A meter reading the counter at every refresh (counter_reads_per_s=10), polled every 10 ms, and a
    counter difference at the window's edges (what Zeus and CodeCarbon report), on one simulated GPU."""

    def __init__(self) -> None:
        self.clock = ManualClock(start=1000.0)
        self.load = LiveSteps(IDLE_W)
        self.sim = SimNvml([SimGpu(self.load, field_offset_s=0.047, field_lag_s=0.02)], self.clock)
        cfg = NvmlConfig(counter_reads_per_s=10.0)
        self.meter = Meter(backends=[NvmlBackend(self.sim, gpus=[0], clock=self.clock, config=cfg, env={})],
                           clock=self.clock, sampler_thread=False)
        self.handle = self.sim.nvmlDeviceGetHandleByIndex(0)
        self.run(3.0)

    def run(self, seconds: float, watts: float | None = None) -> None:
        if watts is not None:
            self.load.set(self.clock.monotonic(), watts)
        n = max(1, round(seconds / 0.01))
        for _ in range(n):
            self.clock.advance(seconds / n)
            self.meter.poll()

    def counter_j(self) -> float:
        return self.sim.nvmlDeviceGetTotalEnergyConsumption(self.handle) / 1000.0

    def window(self, body) -> tuple[float, float, float, float]:
        """(wattprint J, its uncertainty J, counter difference J, true J) of one window around ``body``."""
        c0, t0 = self.counter_j(), self.clock.monotonic()
        self.meter.begin("w")
        body()
        closed = self.meter.close_window("w")
        c1 = self.counter_j()
        self.run(0.3)  # settled: the readings after the window's end have arrived
        (c,) = self.meter.measurement(closed).components
        return c.energy_j, c.uncertainty_j, c1 - c0, self.load.energy(t0, closed.t1)


@pytest.mark.parametrize("length", [0.137, 0.34, 1.07])
def test_a_window_that_starts_and_stops_the_work(length):
    b = _Bench()
    errs = []
    for k in range(8):
        b.run(0.25 + 0.037 * k, IDLE_W)  # edges at phases spread over the refresh
        e, u, _, true = b.window(lambda: b.run(length, BUSY_W))
        b.load.set(b.clock.monotonic(), IDLE_W)
        errs.append(abs(e - true) / true)
        assert abs(e - true) <= u, (k, e, true, u)
    # shared by time (before the fix) the edges' intervals gave -12% (0.137 s), -5% (0.34 s), -1% (1.07 s)
    assert statistics.median(errs) < 0.03, errs


@pytest.mark.parametrize("length", [0.123, 1.07])
def test_bursty_cycles_beat_a_counter_difference(length):
    """One cycle (half busy, half idle) after two lead-in cycles, the benchmark's bursty window, its begin at
    36 phases spread over the refresh."""
    b = _Bench()

    def cycle() -> None:
        b.run(length / 2, BUSY_W)
        b.run(length / 2, IDLE_W)

    ours, diff = [], []
    for k in range(36):
        b.run(0.2 + 0.0137 * k, IDLE_W)
        cycle()
        cycle()
        e, _, d, true = b.window(cycle)
        ours.append(abs(e - true) / true)
        diff.append(abs(d - true) / true)
    if length > 1:  # shared by time (before the fix): 2.7% (counter difference 0.8%); now 0.0%
        assert statistics.median(ours) <= statistics.median(diff), (ours, diff)
        assert statistics.median(ours) < 0.005, ours
    else:
        # a 61 ms burst and 61 ms of idle inside one 100 ms refresh: the side outside the window's begin is the
        # idle half of the previous burst, but its neighbouring counter interval averages the whole cycle, so
        # the window reads low; a counter difference is right by the periodicity of the load and off by its
        # whole-refresh steps. Over 36 phases the two tie (medians ~21-27% each, here and on the H200's
        # 0.123 s cell): a tie within 10% is asserted, not a win.
        assert statistics.median(ours) <= 1.1 * statistics.median(diff), (ours, diff)


class _DefaultBench(_Bench):
    """The same card and load with the default Meter configuration (counter_reads_per_s=0.5)."""

    def __init__(self) -> None:
        self.clock = ManualClock(start=1000.0)
        self.load = LiveSteps(IDLE_W)
        self.sim = SimNvml([SimGpu(self.load, field_offset_s=0.047, field_lag_s=0.02)], self.clock)
        self.meter = Meter(backends=[NvmlBackend(self.sim, gpus=[0], clock=self.clock, env={})],
                           clock=self.clock, sampler_thread=False)
        self.handle = self.sim.nvmlDeviceGetHandleByIndex(0)
        self.run(3.0)

    def settled_window(self, body) -> tuple[object, float]:
        t0 = self.clock.monotonic()
        self.meter.begin("w")
        body()
        t1 = self.clock.monotonic()
        (c,) = self.meter.end("w", settle=True).components
        return c, self.load.energy(t0, t1)


def test_default_budget_saves_reads_for_a_window_after_idle():
    """With no window open the default budget is saved; a window after ~10 s idle spends it on every refresh
    interval it covers, so a 0.34 s window that starts and stops the work is counter-resolved."""
    b = _DefaultBench()
    errs = []
    for k in range(8):
        b.run(10.0 + 0.037 * k, IDLE_W)
        c, true = b.settled_window(lambda: b.run(0.34, BUSY_W))
        b.load.set(b.clock.monotonic(), IDLE_W)
        assert c.method.value == "counter", c.detail
        assert abs(c.energy_j - true) <= c.uncertainty_j, (k, c.energy_j, true, c.uncertainty_j)
        errs.append(abs(c.energy_j - true) / true)
    # a begin edge late in its refresh interval cannot have that interval's reading (it would come after the
    # refresh): its cut interval reaches back to the last idle reading and is shared by the field (~2%)
    assert statistics.median(errs) < 0.01, errs
    assert max(errs) < 0.03, errs


@pytest.mark.parametrize("length", [0.037, 0.123, 0.34])
def test_default_budget_uncertainty_covers_back_to_back_bursty_windows(length):
    """Back-to-back one-cycle bursty windows leave the default budget short (few counter readings, cut
    intervals priced from the field): the error is large, but the stated uncertainty must cover it."""
    b = _DefaultBench()
    covered = 0
    n = 20
    for k in range(n):
        b.run(0.03 * (k % 4), IDLE_W)
        for _ in range(2):
            b.run(length / 2, BUSY_W)
            b.run(length / 2, IDLE_W)
        c, true = b.settled_window(lambda: (b.run(length / 2, BUSY_W), b.run(length / 2, IDLE_W)))
        covered += abs(c.energy_j - true) <= c.uncertainty_j
    assert covered >= 0.9 * n, covered


def test_a_late_counter_refresh_is_not_filed_under_its_interval():
    """Now and then the counter publishes a refresh late (an H200, 2026-11-28: idle 0.34 s windows read +29 to
    +32% and -25% when a reading in an interval still held the previous interval's value, filed as if that
    interval had used nothing and the next one twice its energy). A reading that has not moved since the last
    one is no reading of its interval: it is taken again, and never filed there."""
    b = _Bench()  # the refresh phase is found on regular refreshes
    # then every 3rd refresh comes 60 ms late: past the sampler's mid-interval poll (50 ms after the refresh)
    b.sim.gpus[0].late_refresh_every = 3
    errs = []
    for k in range(12):
        b.run(0.2 + 0.037 * k, IDLE_W)
        e, u, _, true = b.window(lambda: b.run(0.34, IDLE_W))
        errs.append(abs(e - true) / true)
        assert abs(e - true) <= u, (k, e, true, u)
    (g,) = b.meter.backends[0].gpus
    _, _, ct, ce, _ = g.timeline.snapshot()
    steps = [b_ - a for a, b_ in zip(ce, ce[1:])]
    assert min(steps) > 0, "a reading filed under an interval it did not see"
    assert max(errs) < 0.01, errs


def test_a_window_inside_one_refresh_prices_the_side_it_knows():
    """A 13 ms cycle of bursts ends the load; the window (the last cycle) lies inside one counter interval. The
    light budget has read the interval after it (idle: the settle asks for it) but not the one before (bursts,
    which the field aliases). The known side is priced at its exact power and only the rest is shared with the
    bursts before by time (shared by time whole, such windows read 20-51% low on an H200)."""
    b = _DefaultBench()
    errs = []
    for k in range(10):
        b.run(3.0 + 0.0137 * k, IDLE_W)
        for _ in range(12):  # ~0.16 s of 13 ms cycles before the window
            b.run(0.0065, BUSY_W)
            b.run(0.0065, IDLE_W)

        def cycle() -> None:
            b.run(0.0065, BUSY_W)
            b.run(0.0065, IDLE_W)

        c, true = b.settled_window(cycle)
        errs.append(abs(c.energy_j - true) / true)
        assert abs(c.energy_j - true) <= c.uncertainty_j, (k, c.energy_j, true, c.uncertainty_j)
    assert statistics.median(errs) < 0.15, errs
