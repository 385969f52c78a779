"""The Python API refuses arguments it cannot use, with the project's error, instead of accepting them."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wattprint.core.clock import ManualClock
from wattprint.core.errors import ConfigError
from wattprint.meter.api import measure
from wattprint.meter.backends.nvml import NvmlBackend
from wattprint.meter.meter import Meter
from wattprint.meter.sim.nvml import SimGpu, SimNvml
from wattprint.meter.sim.traces import Constant


def _meter() -> Meter:
    clock = ManualClock(start=1000.0)
    sim = SimNvml([SimGpu(Constant(100.0))], clock)
    return Meter(backends=[NvmlBackend(sim, env={}, clock=clock)], clock=clock, sampler_thread=False)


@pytest.mark.parametrize("name", [None, 123, "", b"bytes", ("a",)])
def test_begin_and_end_need_a_name(name):
    m = _meter()
    with pytest.raises(ConfigError, match="window name must be a non-empty string"):
        m.begin(name)
    with pytest.raises(ConfigError, match="window name must be a non-empty string"):
        m.end(name)
    assert m.open_windows() == []


def test_begin_and_end_after_close():
    m = _meter()
    m.begin("open-at-close")
    m.close()
    with pytest.raises(ConfigError, match=r"begin\(\) on a closed Meter"):
        m.begin("late")
    with pytest.raises(ConfigError, match=r"end\(\) on a closed Meter"):
        m.end("open-at-close")


@pytest.mark.parametrize("seconds", [-1, 0, math.nan, math.inf, -math.inf, "5", None, True])
def test_idle_needs_a_finite_positive_duration(seconds):
    with pytest.raises(ConfigError, match="idle seconds must be a finite number > 0"):
        _meter().idle(seconds)


@given(st.one_of(st.floats(max_value=-1e-300), st.just(math.nan), st.just(math.inf), st.text(max_size=3),
                 st.none(), st.booleans()))
def test_measure_refuses_idle_seconds_that_are_not_a_finite_non_negative_number(x):
    with pytest.raises(ConfigError, match="idle_seconds must be a finite number >= 0"):
        measure(idle_seconds=x, meter=_meter())


@pytest.mark.parametrize("name", [None, 0, ""])
def test_measure_needs_a_name(name):
    with pytest.raises(ConfigError, match="must be a non-empty string"):
        measure(name=name, meter=_meter())


def test_measure_zero_idle_is_allowed_and_measures():
    m = _meter()
    with measure(idle_seconds=0, meter=m, settle=False) as w:
        m.clock.advance(2.0)
        m.poll()
    assert w.result is not None and w.result.total_energy_j == pytest.approx(200.0, rel=0.05)


@pytest.mark.parametrize("rate", [math.inf, math.nan, 0, -1])
def test_counter_read_budget_must_be_finite_and_positive(rate):
    with pytest.raises(ConfigError, match="counter_reads_per_s"):
        Meter(backends=[], sampler_thread=False, counter_reads_per_s=rate)
