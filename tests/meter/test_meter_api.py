"""The Meter, measure() and @track: nested and overlapping windows, idle baseline, the owned thread."""

from __future__ import annotations

import threading
import time

import pytest

from wattprint.core.clock import ManualClock, SystemClock
from wattprint.core.errors import ConfigError
from wattprint.meter.api import measure, track
from wattprint.meter.backends.cpu_estimate import CpuEstimateBackend
from wattprint.meter.backends.nvml import NvmlBackend
from wattprint.meter.meter import Meter
from wattprint.meter.result import Kind, Measurement, Method
from wattprint.meter.sim.drive import drive
from wattprint.meter.sim.nvml import SimGpu, SimNvml
from wattprint.meter.sim.traces import Constant, Steps


def test_nested_and_overlapping_windows_add_up():
    clock = ManualClock(start=1000.0)
    sim = SimNvml([SimGpu(Steps([(0, 100.0), (1003.0, 400.0)]))], clock, counter_read_s=0.0046)
    m = Meter(backends=[NvmlBackend(sim, env={}, clock=clock)], clock=clock, sampler_thread=False)
    drive(m, clock, 1.0)
    t_req = clock.monotonic()
    m.begin("request")
    m.begin("prefill")
    drive(m, clock, 2.0)
    t_dec = clock.monotonic()
    m.begin("decode")
    pre = m.end("prefill")
    drive(m, clock, 3.0)
    dec = m.end("decode")
    req = m.end("request")
    assert pre.total_energy_j == pytest.approx(sim.true_energy(0, t_req, t_req + pre.duration_s), rel=0.02)
    assert dec.total_energy_j == pytest.approx(sim.true_energy(0, t_dec, t_dec + dec.duration_s), rel=0.02)
    assert req.total_energy_j == pytest.approx(sim.true_energy(0, t_req, t_req + req.duration_s), rel=0.02)
    with pytest.raises(ConfigError):
        m.end("request")
    m.begin("x")
    with pytest.raises(ConfigError):
        m.begin("x")


def test_idle_baseline_is_reported_beside_the_total():
    clock = ManualClock(start=1000.0)
    sim = SimNvml([SimGpu(Steps([(0, 120.0), (1010.0, 500.0)]))], clock)
    m = Meter(backends=[NvmlBackend(sim, env={}, clock=clock)], clock=clock, sampler_thread=False)
    drive(m, clock, 1.0)
    m.begin("idle-baseline")
    drive(m, clock, 5.0)
    base = m.end("idle-baseline")
    m._idle_w = {c.key: c.energy_j / base.duration_s for c in base.components}  # as Meter.idle does
    m._idle_seconds = base.duration_s
    drive(m, clock, 4.0)
    m.begin("work")
    drive(m, clock, 4.0)
    r = m.end("work")
    assert r.idle_power_w == pytest.approx(120.0, rel=0.02)
    assert r.total_energy_j == pytest.approx(2000.0, rel=0.02)
    assert r.energy_above_idle_j == pytest.approx(2000.0 - 480.0, rel=0.03)
    d = Measurement.from_dict(r.to_dict())
    assert d.energy_above_idle_j == pytest.approx(r.energy_above_idle_j)


def test_meter_idle_with_the_real_clock_and_thread():
    sim = SimNvml([SimGpu(Constant(150.0))], SystemClock())
    with Meter(backends=[NvmlBackend(sim, env={})]) as m:
        names = [t.name for t in threading.enumerate()]
        assert "wattprint-sampler" in names
        base = m.idle(0.3)
        assert base.components[0].idle_power_w == pytest.approx(150.0, rel=0.05)
        cpu0 = m.sampler_cpu_seconds()
        m.begin("w")
        time.sleep(0.3)
        r = m.end("w")
        c = r.components[0]
        assert abs(c.energy_j - 150.0 * r.duration_s) <= c.uncertainty_j + 0.01 * c.energy_j
        assert r.idle_seconds == pytest.approx(0.3, abs=0.05)
        assert 0 <= m.sampler_cpu_share() < 1
        # the thread's CPU time so far: never decreasing, so two readings give its share over any span
        assert cpu0 is not None and 0 <= cpu0 <= m.sampler_cpu_seconds()
    time.sleep(0.05)
    assert "wattprint-sampler" not in [t.name for t in threading.enumerate()]


def _busy(seconds: float) -> int:
    end, n = time.process_time() + seconds, 0
    while time.process_time() < end:
        n += 1
    return n


def test_measure_and_track_estimate_cpu_from_process_time():
    with measure(name="busy", gpus=None, ram=False) as m:
        _busy(0.3)
    (c,) = m.result.components
    assert c.kind == Kind.CPU and c.method == Method.ESTIMATED
    w = CpuEstimateBackend().model.max_w_per_cpu
    assert c.energy_j == pytest.approx(0.3 * w, rel=0.3)
    assert c.uncertainty_j == pytest.approx(0.5 * c.energy_j)
    assert "cpu_seconds=" in c.detail and "W/cpu" in c.detail

    @track(gpus=None, cpu=True, ram=True)
    def work(x):
        _busy(0.1)
        return x * 2

    assert work(21) == 42
    r = work.last_result
    assert r.name.endswith("work") and {c.kind for c in r.components} == {Kind.CPU, Kind.RAM}
    ram = next(c for c in r.components if c.kind == Kind.RAM)
    assert ram.energy_j > 0 and "0.375 W/GB" in ram.detail


def test_measure_keeps_a_result_when_the_block_raises():
    m = measure(gpus=None, ram=False)
    with pytest.raises(ZeroDivisionError):
        with m:
            raise ZeroDivisionError
    assert m.result is not None and m.result.duration_s >= 0


def test_sampler_cpu_seconds_is_none_without_a_thread():
    clock = ManualClock(start=1000.0)
    sim = SimNvml([SimGpu(Constant(150.0))], clock)
    m = Meter(backends=[NvmlBackend(sim, env={}, clock=clock)], clock=clock, sampler_thread=False)
    assert m.sampler_cpu_seconds() is None and m.sampler_cpu_share() is None
    m.close()
