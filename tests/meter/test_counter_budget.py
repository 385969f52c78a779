"""``Meter(counter_reads_per_s=...)``: a caller buys counter precision for short windows (simulated NVML)."""

from __future__ import annotations

import sys

import pytest

from wattprint.core.clock import ManualClock
from wattprint.core.errors import ConfigError
from wattprint.meter.backends.nvml import NvmlBackend
from wattprint.meter.meter import Meter
from wattprint.meter.sim.drive import drive
from wattprint.meter.sim.nvml import SimGpu, SimNvml
from wattprint.meter.sim.traces import Square


def _sim(clock: ManualClock) -> SimNvml:
    # bursty: 700 W / 150 W alternating every 70 ms (not a multiple of the 100 ms refresh)
    trace = Square(high=700.0, low=150.0, period=0.14)
    return SimNvml([SimGpu(trace, field_offset_s=0.047, field_lag_s=0.02)], clock)


def _windows(meter: Meter, clock: ManualClock, sim: SimNvml, length: float, n: int = 6):
    drive(meter, clock, 2.0, step=0.01)
    out = []
    for k in range(n):
        drive(meter, clock, 0.31 + 0.037 * k, step=0.01)  # edges at phases spread over the refresh
        t0 = clock.monotonic()
        meter.begin("w")
        drive(meter, clock, length, step=0.01)
        t1 = clock.monotonic()
        m = meter.end("w", settle=True)
        (c,) = m.components
        out.append((c, sim.true_energy(0, t0, t1)))
    return out


@pytest.mark.parametrize("length", [0.3, 0.55, 1.0])
def test_the_keyword_reaches_the_nvml_backend_through_discovery(monkeypatch, length):
    clock = ManualClock(start=1000.0)
    sim = _sim(clock)
    monkeypatch.setitem(sys.modules, "pynvml", sim)
    meter = Meter(gpus=[0], cpu=False, ram=False, clock=clock, sampler_thread=False, env={},
                  counter_reads_per_s=10.0)
    try:
        (b,) = meter.backends
        assert isinstance(b, NvmlBackend) and b.config.counter_reads_per_s == 10.0
        assert meter.settings["counter_reads_per_s"] == 10.0
        for c, true in _windows(meter, clock, sim, length):
            assert c.method.value == "counter", c.detail
            assert abs(c.energy_j - true) <= c.uncertainty_j, (c.energy_j, true, c.uncertainty_j)
    finally:
        meter.close()


def test_the_keyword_sets_injected_backends():
    clock = ManualClock(start=1000.0)
    sim = _sim(clock)
    b = NvmlBackend(sim, gpus=[0], clock=clock, env={})
    assert b.config.counter_reads_per_s == 0.5
    meter = Meter(backends=[b], clock=clock, sampler_thread=False, counter_reads_per_s=10.0)
    assert b.config.counter_reads_per_s == 10.0
    for c, true in _windows(meter, clock, sim, 0.3):
        assert c.method.value == "counter", c.detail
        assert abs(c.energy_j - true) <= c.uncertainty_j


def test_a_budget_must_be_positive():
    with pytest.raises(ConfigError):
        Meter(backends=[], counter_reads_per_s=0.0, sampler_thread=False)


def test_measure_settles_by_default_and_says_so():
    from wattprint.meter.api import measure

    clock = ManualClock(start=1000.0)
    sim = _sim(clock)
    meter = Meter(backends=[NvmlBackend(sim, gpus=[0], clock=clock, env={})], clock=clock, sampler_thread=False)
    drive(meter, clock, 12.0, step=0.01)  # idle: the default budget is saved for the next window
    with measure(meter=meter) as m:
        t0 = clock.monotonic()
        drive(meter, clock, 0.3, step=0.01)
        t1 = clock.monotonic()
    (c,) = m.result.components
    assert "settled: resolved after the counter reading" in c.detail
    assert c.method.value == "counter"
    assert abs(c.energy_j - sim.true_energy(0, t0, t1)) <= c.uncertainty_j
    with measure(meter=meter, settle=False) as m2:
        drive(meter, clock, 0.3, step=0.01)
    assert "settled" not in m2.result.components[0].detail


@pytest.mark.parametrize("reads_per_s, every", [(10.0, True), (0.5, False)])
def test_a_budget_of_one_read_per_refresh_reads_every_refresh_with_no_window_open(reads_per_s, every):
    # With the bench runner's 10 reads/s, the interval before a window's begin must have its own reading (the
    # begin's cut interval is priced from it); the default budget is saved instead while no window is open.
    clock = ManualClock(start=1000.0)
    sim = _sim(clock)
    meter = Meter(backends=[NvmlBackend(sim, gpus=[0], clock=clock, env={})], clock=clock, sampler_thread=False,
                  counter_reads_per_s=reads_per_s)
    try:
        drive(meter, clock, 3.0, step=0.01)  # start-up: first readings and the refresh-phase search
        before = sim.counter_calls
        drive(meter, clock, 5.0, step=0.01)  # 50 refreshes, no window
        reads = sim.counter_calls - before
        if every:
            assert 48 <= reads <= 52, reads
        else:
            assert reads <= 0.5 * 5.0 + 1, reads
    finally:
        meter.close()
