"""The NVML backend against the NVML stand-in: device choice, cheap edges, lost GPUs, no-counter GPUs."""

from __future__ import annotations

import pytest

from wattprint.core.clock import ManualClock
from wattprint.core.errors import ConfigError
from wattprint.meter.backends.nvml import NvmlBackend
from wattprint.meter.meter import Meter
from wattprint.meter.result import Method
from wattprint.meter.sim.drive import drive
from wattprint.meter.sim.nvml import SimGpu, SimNvml
from wattprint.meter.sim.traces import Constant, Steps


def _sim(clock, n=4, **kw):
    return SimNvml([SimGpu(Constant(100.0 + 50 * i), **kw) for i in range(n)], clock,
                   mig={"MIG-aaaa-bbbb": 2})


def test_visible_devices_by_uuid_prefix_and_mig():
    clock = ManualClock()
    sim = _sim(clock)
    uuid1, uuid3 = sim.gpus[1].uuid, sim.gpus[3].uuid
    b = NvmlBackend(sim, env={"CUDA_VISIBLE_DEVICES": f"{uuid3},{uuid1[:14]}"}, clock=clock)
    assert [g.sel.nvml_index for g in b.gpus] == [3, 1]
    assert not b.select_warnings
    b = NvmlBackend(sim, env={"CUDA_VISIBLE_DEVICES": "MIG-aaaa-bbbb"}, clock=clock)
    assert [g.sel.nvml_index for g in b.gpus] == [2]
    assert "whole parent GPU" in b.select_warnings[0]


def test_visible_by_index_is_a_stated_fallback_and_hidden_gpus_are_not_counted():
    clock = ManualClock()
    sim = _sim(clock)
    b = NvmlBackend(sim, env={"CUDA_VISIBLE_DEVICES": "2,0"}, clock=clock)
    assert [g.sel.nvml_index for g in b.gpus] == [2, 0]
    assert "CUDA_DEVICE_ORDER=PCI_BUS_ID" in b.select_warnings[0]
    b = NvmlBackend(sim, env={"CUDA_VISIBLE_DEVICES": "2", "CUDA_DEVICE_ORDER": "PCI_BUS_ID"}, clock=clock)
    assert [g.sel.nvml_index for g in b.gpus] == [2] and not b.select_warnings
    assert NvmlBackend(sim, env={"CUDA_VISIBLE_DEVICES": ""}, clock=clock).gpus == []
    assert len(NvmlBackend(sim, env={}, clock=clock).gpus) == 4


def test_gpus_by_index_or_uuid_and_unknown_ones_fail_loudly():
    clock = ManualClock()
    sim = _sim(clock)
    b = NvmlBackend(sim, gpus=[0, sim.gpus[3].uuid], clock=clock, env={})
    assert [g.sel.nvml_index for g in b.gpus] == [0, 3]
    with pytest.raises(ConfigError):
        NvmlBackend(sim, gpus=[7], clock=clock, env={})
    with pytest.raises(ConfigError):
        NvmlBackend(sim, gpus=["GPU-nope"], clock=clock, env={})


def test_window_edges_do_not_read_the_slow_counter():
    clock = ManualClock()
    sim = _sim(clock, n=2)
    m = Meter(backends=[NvmlBackend(sim, env={}, clock=clock)], clock=clock, sampler_thread=False)
    drive(m, clock, 1.0)
    before = sim.counter_calls, sim.field_calls
    for _ in range(100):
        m.begin("w")
        clock.advance(0.005)
        m.end("w")
    assert (sim.counter_calls, sim.field_calls) == before
    m.begin("long")
    clock.advance(1.5)
    m.end("long")  # a long window reads the counter once per GPU at its end to anchor it
    assert sim.counter_calls == before[0] + 2


def test_gpu_lost_mid_window_warns_and_keeps_energy_up_to_the_loss():
    clock = ManualClock(start=1000.0)
    sim = SimNvml([SimGpu(Constant(300.0)), SimGpu(Constant(200.0), lost_at=1004.0)], clock)
    m = Meter(backends=[NvmlBackend(sim, env={}, clock=clock)], clock=clock, sampler_thread=False)
    drive(m, clock, 1.0)
    t0 = clock.monotonic()
    m.begin("w")
    drive(m, clock, 6.0)
    r = m.end("w")
    ok, lost = r.components
    assert ok.energy_j == pytest.approx(300.0 * r.duration_s, rel=0.02)
    assert lost.energy_j == pytest.approx(200.0 * (1004.0 - t0), rel=0.03)  # up to the loss
    assert any("was lost" in w and "up to the loss" in w for w in r.warnings)


def test_gpu_without_counter_is_sampled_and_says_so():
    clock = ManualClock()
    sim = SimNvml([SimGpu(Constant(250.0), has_counter=False)], clock)
    m = Meter(backends=[NvmlBackend(sim, env={}, clock=clock)], clock=clock, sampler_thread=False)
    drive(m, clock, 0.5)
    m.begin("w")
    drive(m, clock, 4.0)
    (c,) = m.end("w").components
    assert c.method == Method.SAMPLED and "no energy counter" in c.detail
    assert c.energy_j == pytest.approx(1000.0, rel=0.01)
    assert c.uncertainty_j > 0


def test_counter_phase_is_found_and_readings_are_filed_under_their_refresh():
    clock = ManualClock(start=1000.0)
    sim = SimNvml([SimGpu(Constant(300.0))], clock, counter_read_s=0.0046)
    b = NvmlBackend(sim, env={}, clock=clock)
    m = Meter(backends=[b], clock=clock, sampler_thread=False)
    drive(m, clock, 2.0)
    g = b.gpus[0]
    refresh = (g.refresh.phase - sim.origin) % 0.1
    assert min(refresh, 0.1 - refresh) < 0.003  # the sim refreshes at origin + k * 0.1 s
    _, _, ct, ce, _ = g.timeline.snapshot()
    aligned = [(t, e) for t, e in zip(ct, ce) if t not in set(g.timeline._stale)]
    assert aligned and all(abs(e - sim.true_energy(0, sim.origin, t)) < 300.0 * 0.003 for t, e in aligned)


def test_settled_short_window_rests_on_counter_increments():
    clock = ManualClock(start=1000.0)
    trace = Steps([(0, 120.0), (1003.03, 650.0), (1003.21, 120.0)])
    sim = SimNvml([SimGpu(trace)], clock, counter_read_s=0.0046)
    from wattprint.meter.backends.nvml import NvmlConfig

    b = NvmlBackend(sim, env={}, clock=clock, config=NvmlConfig(counter_reads_per_s=10.0))
    m = Meter(backends=[b], clock=clock, sampler_thread=False)
    drive(m, clock, 3.0 - (clock.monotonic() - 1000.0))
    t0 = clock.monotonic()
    m.begin("w")
    drive(m, clock, 0.3, step=0.05)
    r = m.end("w", settle=True)
    (c,) = r.components
    true = sim.true_energy(0, t0, t0 + r.duration_s)
    assert c.method == Method.COUNTER
    assert b.gpus[0].timeline.has_counter_after(t0 + r.duration_s)  # settle waited for the next reading
    assert abs(c.energy_j - true) <= c.uncertainty_j


class _HeldUpOnce(SimNvml):
    """A counter read that sees the first refresh after the phase search starts is held up 20 ms (the sampler
    thread waiting for the GIL while a model runs), so that refresh cannot be pinned down."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.held = False
        self.last = None

    def nvmlDeviceGetTotalEnergyConsumption(self, h):
        v = super().nvmlDeviceGetTotalEnergyConsumption(h)
        if self.searching and not self.held and self.last is not None and v != self.last:
            self.held = True
            self.clock.advance(0.02)
        self.last = v
        return v


def test_phase_search_held_up_at_a_refresh_watches_for_the_next_one():
    clock = ManualClock(start=1000.0)
    sim = _HeldUpOnce([SimGpu(Constant(300.0))], clock, counter_read_s=0.0046)
    sim.searching = False
    b = NvmlBackend(sim, env={}, clock=clock)
    g = b.gpus[0]
    sim.searching = True
    g.sync_phase()
    sim.searching = False
    assert sim.held  # the first refresh seen was held up ...
    assert g.refresh.phase is not None  # ... and the next one gave the phase
    refresh = (g.refresh.phase - sim.origin) % 0.1
    assert min(refresh, 0.1 - refresh) < 0.003
