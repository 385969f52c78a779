"""One contract for every backend: the measured energy equals the integral of the simulated power.

Tolerances (stated): windows >= 2 s within 2% of the true integral for counter backends and 3% for sampled
ones; every window's stated uncertainty covers the true value.
"""

from __future__ import annotations

import pytest

from wattprint.core.clock import ManualClock
from wattprint.meter.backends.amd import AmdBackend
from wattprint.meter.backends.nvml import NvmlBackend
from wattprint.meter.backends.rapl import RaplBackend
from wattprint.meter.meter import Meter
from wattprint.meter.result import Method
from wattprint.meter.sim.amd import SimAmdGpu, SimAmdSmi
from wattprint.meter.sim.drive import drive
from wattprint.meter.sim.nvml import SimGpu, SimNvml
from wattprint.meter.sim.powercap import PowercapTree
from wattprint.meter.sim.traces import Constant, Square, Steps

TRACES = {
    "steady": Constant(350.0),
    "bursty": Square(high=520.0, low=300.0, period=0.4, duty=0.5),
    "steps": Steps([(0.0, 130.0), (1003.0, 690.0), (1006.5, 250.0), (1010.0, 600.0)]),
}


class _NoSync:
    def update(self, t: float) -> None:
        return None


def _nvml(trace, clock, tmp_path, counter=True):
    sim = SimNvml([SimGpu(trace, has_counter=counter)], clock, counter_read_s=0.0046)
    return NvmlBackend(sim, gpus=[0], clock=clock), _NoSync(), lambda a, b: sim.true_energy(0, a, b)


def _amd(trace, clock, tmp_path, counter=True):
    sim = SimAmdSmi([SimAmdGpu(trace, has_counter=counter)], clock)
    return AmdBackend(sim, clock=clock), _NoSync(), lambda a, b: trace.energy(a, b)


def _rapl(trace, clock, tmp_path, counter=True):
    tree = PowercapTree(tmp_path / "powercap", origin=clock.monotonic())
    # a small range so that the windows below wrap the counter several times
    tree.add_zone("intel-rapl:0", "package-0", trace, max_range_uj=700_000_000, initial_uj=650_000_000)
    return RaplBackend(tree.root, read=tree.reader, wrap_poll_s=0.5), tree, lambda a, b: trace.energy(a, b)


BACKENDS = {
    "nvml-counter": (_nvml, True, Method.COUNTER),
    "nvml-sampled": (lambda *a: _nvml(*a, counter=False), False, Method.SAMPLED),
    "amd-counter": (_amd, True, Method.COUNTER),
    "amd-sampled": (lambda *a: _amd(*a, counter=False), False, Method.SAMPLED),
    "rapl": (_rapl, True, Method.COUNTER),
}


@pytest.mark.parametrize("trace_name", list(TRACES))
@pytest.mark.parametrize("backend_name", list(BACKENDS))
def test_energy_equals_integral_of_power(backend_name, trace_name, tmp_path):
    make, is_counter, method = BACKENDS[backend_name]
    clock = ManualClock(start=1000.0)
    backend, hw, truth = make(TRACES[trace_name], clock, tmp_path)
    meter = Meter(backends=[backend], clock=clock, sampler_thread=False)
    drive(meter, clock, 1.5, hw=hw)
    for length in (2.0, 3.7, 10.0):
        t0 = clock.monotonic()
        meter.begin("w")
        drive(meter, clock, length, hw=hw)
        m = meter.end("w")
        true = truth(t0, t0 + m.duration_s)  # the meter's own window (a counter read may advance the clock)
        (c,) = m.components
        tol = 0.02 if is_counter else 0.03
        assert c.energy_j == pytest.approx(true, rel=tol), (length, c)
        assert abs(c.energy_j - true) <= c.uncertainty_j + 1e-6, (length, c)
        assert c.method == method
        # polls' counter reads advance the clock (sim: 4.6 ms each; while a window is open the budget is
        # 1.5 reads/s, 10 s: ~15 reads)
        assert m.duration_s == pytest.approx(length, abs=0.12)
        drive(meter, clock, 0.25, hw=hw)
    meter.close()


@pytest.mark.parametrize("backend_name", ["nvml-counter", "nvml-sampled", "amd-counter"])
def test_short_windows_are_covered_by_their_uncertainty(backend_name, tmp_path):
    make, _, _ = BACKENDS[backend_name]
    clock = ManualClock(start=1000.0)
    trace = TRACES["bursty"]
    backend, hw, truth = make(trace, clock, tmp_path)
    meter = Meter(backends=[backend], clock=clock, sampler_thread=False)
    drive(meter, clock, 3.0)
    covered = total = 0
    for length in (0.01, 0.03, 0.1, 0.3):
        for k in range(10):
            drive(meter, clock, 0.037 * (k + 1))
            t0 = clock.monotonic()
            meter.begin("w")
            drive(meter, clock, length, step=min(0.02, length))
            m = meter.end("w")
            (c,) = m.components
            true = truth(t0, t0 + m.duration_s)
            total += 1
            covered += abs(c.energy_j - true) <= c.uncertainty_j
    assert covered / total >= 0.9
    meter.close()
