"""The sampler's own schedule (what the thread does), run on a ManualClock without the thread.

The NVML backend tells the sampler when it is next due: once per counter refresh interval, just after the
refresh (phase-locked), and at once when a window edge asks for a reading in its own interval. These tests
check the cost (wake-ups and counter reads per second) and that windows resolve as well as with the dense
10 ms polling the other tests use.
"""

from __future__ import annotations

import statistics

from wattprint.core.clock import ManualClock
from wattprint.meter.backends import nvml as nvml_mod
from wattprint.meter.backends.nvml import NvmlBackend
from wattprint.meter.meter import Meter
from wattprint.meter.sim.drive import drive_scheduled
from wattprint.meter.sim.nvml import SimGpu, SimNvml
from wattprint.meter.sim.traces import Constant, LiveSteps

IDLE_W, BUSY_W = 120.0, 700.0




def _meter(trace, clock: ManualClock) -> tuple[Meter, SimNvml]:
    sim = SimNvml([SimGpu(trace, field_offset_s=0.047, field_lag_s=0.02)], clock)
    meter = Meter(backends=[NvmlBackend(sim, gpus=[0], clock=clock, env={})], clock=clock, sampler_thread=False)
    return meter, sim


def test_one_wake_up_per_refresh_and_the_budget_with_no_window():
    clock = ManualClock(start=1000.0)
    meter, sim = _meter(Constant(300.0), clock)
    drive_scheduled(meter, clock, 2.0)  # phase search and first readings
    c0, f0 = sim.counter_calls, sim.field_calls
    rounds = drive_scheduled(meter, clock, 60.0)
    # one round per 100 ms refresh (plus the 5 s prune), each reading the power field once
    assert 600 <= rounds <= 620, rounds
    assert 595 <= sim.field_calls - f0 <= 605, sim.field_calls - f0
    # no window: only the periodic read every counter_period_s (4 s), the rest of the budget is saved
    assert (sim.counter_calls - c0) / 60.0 <= 0.3, sim.counter_calls - c0
    meter.close()


def test_an_open_window_spends_at_most_open_rate_x_the_budget():
    clock = ManualClock(start=1000.0)
    meter, sim = _meter(Constant(300.0), clock)
    drive_scheduled(meter, clock, 20.0)  # the saved budget (BURST_READS) fills up
    meter.begin("long")
    drive_scheduled(meter, clock, 20.0)  # burst spent
    c0 = sim.counter_calls
    drive_scheduled(meter, clock, 60.0)
    rate = (sim.counter_calls - c0) / 60.0
    assert rate <= nvml_mod.OPEN_RATE_X * 0.5 + 0.05, rate
    meter.end("long")
    meter.close()


def _window(meter: Meter, clock: ManualClock, load: LiveSteps, body) -> tuple[object, float]:
    t0 = clock.monotonic()
    meter.begin("w")
    body()
    closed = meter.close_window("w")
    drive_scheduled(meter, clock, 0.3)  # the readings after the end arrive
    (c,) = meter.measurement(closed).components
    return c, load.energy(t0, closed.t1)


def _work_windows(meter: Meter, clock: ManualClock, load: LiveSteps, gaps: list[float]) -> list[tuple[object, float]]:
    """After each idle gap, a 0.34 s window that starts and stops the work: (component, true J) of each."""
    out = []
    for gap in gaps:
        drive_scheduled(meter, clock, gap)

        def work() -> None:
            load.set(clock.monotonic(), BUSY_W)
            drive_scheduled(meter, clock, 0.34)

        out.append(_window(meter, clock, load, work))
        load.set(clock.monotonic(), IDLE_W)
    return out


def test_a_window_after_idle_is_counter_resolved_on_the_schedule():
    """As test_short_windows' default-budget test, with the thread's schedule instead of 10 ms polls."""
    clock = ManualClock(start=1000.0)
    load = LiveSteps(IDLE_W)
    meter, _ = _meter(load, clock)
    drive_scheduled(meter, clock, 3.0)
    errs = []
    for k, (c, true) in enumerate(_work_windows(meter, clock, load, [10.0 + 0.037 * k for k in range(8)])):
        assert c.method.value == "counter", c.detail
        assert abs(c.energy_j - true) <= c.uncertainty_j, (k, c.energy_j, true, c.uncertainty_j)
        errs.append(abs(c.energy_j - true) / true)
    assert statistics.median(errs) < 0.01, errs
    meter.close()


def test_back_to_back_bursty_windows_are_covered_on_the_schedule():
    clock = ManualClock(start=1000.0)
    load = LiveSteps(IDLE_W)
    meter, _ = _meter(load, clock)
    drive_scheduled(meter, clock, 3.0)
    n, covered = 20, 0
    for k in range(n):
        drive_scheduled(meter, clock, 0.03 * (k % 4) + 0.01)

        def cycle() -> None:
            load.set(clock.monotonic(), BUSY_W)
            drive_scheduled(meter, clock, 0.17)
            load.set(clock.monotonic(), IDLE_W)
            drive_scheduled(meter, clock, 0.17)

        cycle()
        c, true = _window(meter, clock, load, cycle)
        covered += abs(c.energy_j - true) <= c.uncertainty_j
    assert covered >= 0.9 * n, covered
    meter.close()


def test_slow_pollers_ride_along_with_the_fast_one():
    """The CPU/RAM estimates (1 s) and pruning (5 s) run in a round of the 100 ms poller, no wake-up of their own."""
    from wattprint.meter.sampler import Sampler

    clock = ManualClock(start=1000.0)
    calls = {"fast": 0, "slow": 0}

    def fast(now: float) -> float:
        calls["fast"] += 1
        return 0.1

    def slow(now: float) -> None:
        calls["slow"] += 1

    s = Sampler([(0.1, fast), (1.0, slow)], clock)
    rounds = s.step_until(1010.0)
    assert 99 <= calls["fast"] <= 101, calls
    assert 10 <= calls["slow"] <= 11, calls  # still about once a second
    assert rounds == calls["fast"], (rounds, calls)  # never a round of its own


def test_windows_a_few_seconds_apart_get_the_reads_of_their_edges_within_the_budget():
    """A short window every ~2.5 s (a user timing requests, the peers' benchmark): the budget saved between
    windows refills at the open-window rate, so each window has the counter readings around both edges (before,
    the bucket refilled at 0.5 reads/s between windows: ~1.3 reads for a window that needs ~5, and most
    windows were priced from the power field). The long-run cost stays within OPEN_RATE_X x the budget."""
    clock = ManualClock(start=1000.0)
    load = LiveSteps(IDLE_W)
    meter, sim = _meter(load, clock)
    drive_scheduled(meter, clock, 3.0)
    c0, t0 = sim.counter_calls, clock.monotonic()
    errs, counter = [], 0
    for k, (c, true) in enumerate(_work_windows(meter, clock, load, [2.0 + 0.037 * k for k in range(16)])):
        counter += c.method.value == "counter"
        assert abs(c.energy_j - true) <= c.uncertainty_j, (k, c.energy_j, true, c.uncertainty_j)
        errs.append(abs(c.energy_j - true) / true)
    elapsed = clock.monotonic() - t0
    # what the bucket held at the start (at most BURST_READS) plus its refill
    assert sim.counter_calls - c0 <= nvml_mod.OPEN_RATE_X * 0.5 * elapsed + nvml_mod.BURST_READS, \
        (sim.counter_calls - c0, elapsed)
    assert counter >= 14, counter  # 15 of 16 here; 9 of 16 with the old refill
    assert statistics.median(errs) < 0.01, errs
    meter.close()
