"""The accountant over a real Meter reading a simulated H100 (ManualClock): energies known by hand."""

from __future__ import annotations

import pytest

from wattprint.core.clock import ManualClock
from wattprint.meter.sim.traces import Constant
from wattprint.serve.accountant import Accountant, AccountantConfig
from wattprint.serve.metrics import ServeMetrics
from wattprint.serve.testing import sim_gpu_meter

STEP = 0.01


class Rig:
    """A ManualClock, a sim GPU at constant power, and an accountant cut every 0.1 s by hand."""

    def __init__(self, watts: float, idle_w: float, policy: str, location=None) -> None:
        self.clock = ManualClock(start=1000.0)
        self.meter = sim_gpu_meter(Constant(watts), self.clock, sampler_thread=False, noise_w=0.0)
        key = f"gpu:{self.meter.backends[0].gpus[0].sel.uuid}"
        self.metrics = ServeMetrics()
        self.acct = Accountant.from_meter(self.meter, AccountantConfig(interval_s=0.1, policy=policy),
                                          self.clock, idle_power_w={key: idle_w}, location=location,
                                          metrics=self.metrics)
        self.acct.start(thread=False)
        self.steps = 0
        self.intervals = []

    def advance(self, seconds: float) -> None:
        for _ in range(round(seconds / STEP)):
            self.clock.advance(STEP)
            self.meter.poll()
            self.steps += 1
            if self.steps % 10 == 0:
                self.intervals.append(self.acct.tick())


def scenario(policy: str, location=None):
    """400 W measured, 100 W idle, 0.1 s intervals. A: 20 prompt tokens, then a token every 0.1 s;
    B: 4 prompt tokens, then a token every 0.05 s; both from 0 to 0.5 s (first tokens at 0.1 s)."""
    rig = Rig(400.0, 100.0, policy, location)
    a = rig.acct.open("chat", prompt_tokens=20)
    b = rig.acct.open("chat", prompt_tokens=4)
    for k in range(10):
        rig.advance(0.05)
        if k % 2 == 1:
            a.add_tokens(1)
        b.add_tokens(1) if k >= 1 else None
    ra, rb = a.finish(), b.finish()
    rig.advance(0.1)
    return rig, a, b, ra, rb


@pytest.mark.parametrize("policy, idle_a, idle_b", [
    ("none", 0.0, 0.0),
    ("even", 25.0, 25.0),  # both in flight all the time: 10 J of idle per interval, half each
    ("proportional", 10 * 21 / 26 + 4 * 10 / 3, 10 * 5 / 26 + 4 * 20 / 3),
])
def test_known_energies(policy, idle_a, idle_b):
    rig, a, b, ra, rb = scenario(policy)
    # the meter measured exactly 40 J per 0.1 s interval (constant 400 W)
    assert [round(iv.total_j, 6) for iv in rig.intervals] == [40.0] * 6
    fa, fb = rig.acct.final_receipt(a.id), rig.acct.final_receipt(b.id)
    assert fa is not None and fb is not None and fa.final and fb.final
    # energy above idle, 30 J per interval: first interval 21 : 5 tokens (A: 20 prompt + 1), then 1 : 2
    assert fa.dynamic_j == pytest.approx(30 * 21 / 26 + 4 * 30 / 3, rel=1e-6)
    assert fb.dynamic_j == pytest.approx(30 * 5 / 26 + 4 * 30 * 2 / 3, rel=1e-6)
    assert fa.idle_j == pytest.approx(idle_a, rel=1e-6, abs=1e-9)
    assert fb.idle_j == pytest.approx(idle_b, rel=1e-6, abs=1e-9)
    # A's receipt was issued while B was still open, so its intervals were not final yet (provisional),
    # but no count changed afterwards: the figure equals the final one
    assert ra.energy_j == pytest.approx(fa.energy_j, rel=1e-9) and ra.provisional_j == pytest.approx(ra.energy_j)
    assert rb.energy_j == pytest.approx(fb.energy_j, rel=1e-9) and not ra.final
    assert fa.completion_tokens == 5 and fb.completion_tokens == 9 and fa.token_source.startswith("prompt:given")


def test_conservation_and_metrics():
    rig, a, b, ra, rb = scenario("even")
    tot = rig.acct.totals()
    assert tot["measured_j"] == pytest.approx(240.0, rel=1e-6)
    receipts = rig.acct.final_receipt(a.id).energy_j + rig.acct.final_receipt(b.id).energy_j
    assert receipts + tot["idle_unamortised_j"] + tot["unattributed_j"] == pytest.approx(tot["measured_j"], rel=1e-9)
    value = rig.metrics.registry.get_sample_value
    assert value("wattprint_attributed_energy_joules_total", {"part": "dynamic"}) == pytest.approx(150.0)
    assert value("wattprint_attributed_energy_joules_total", {"part": "idle_amortised"}) == pytest.approx(50.0)
    assert value("wattprint_idle_share") == pytest.approx(60 / 240)
    assert value("wattprint_power_watts", {"device": next(iter(rig.intervals[0].energy_j)), "kind": "gpu"}) \
        == pytest.approx(400.0)
    text = rig.metrics.render().decode()
    assert 'wattprint_request_energy_joules_count{route="chat"} 2.0' in text
    assert 'wattprint_requests_total{completed="true",route="chat"} 2.0' in text


def test_provisional_tail_then_final():
    """A request ending mid-interval: the receipt estimates the unclosed part from the last interval's
    power; the final receipt, once the interval closes, replaces it."""
    rig = Rig(400.0, 100.0, "none")
    rig.advance(0.1)
    with rig.acct.request("chat", prompt_tokens=10) as r:
        rig.advance(0.05)
        r.add_tokens(1)
    assert r.receipt.provisional_j == pytest.approx(r.receipt.energy_j) and not r.receipt.final
    assert r.receipt.energy_j == pytest.approx(300 * 0.05, rel=1e-6)  # 0.05 s above idle, estimated
    assert rig.acct.final_receipt(r.id) is None
    rig.advance(0.1)
    final = rig.acct.final_receipt(r.id)
    assert final.final and final.energy_j == pytest.approx(30.0, rel=1e-6)  # the whole interval's 30 J


def test_receipt_carries_carbon():
    from wattprint.carbon import resolve_location

    loc = resolve_location(country="FR")
    rig, a, b, ra, rb = scenario("even", location=loc)
    fa = rig.acct.final_receipt(a.id)
    g_per_kwh = fa.carbon["g_per_kwh"]
    assert fa.gco2e == pytest.approx(fa.energy_j / 3.6e6 * g_per_kwh * fa.carbon["pue"], rel=1e-9)
    assert fa.carbon["zone"] == "FR" and fa.headers()["x-wattprint-gco2e"]


def test_exception_inside_request_is_not_completed():
    rig = Rig(400.0, 100.0, "none")
    with pytest.raises(RuntimeError):
        with rig.acct.request("chat", prompt_tokens=3) as r:
            rig.advance(0.1)
            raise RuntimeError("model crashed")
    assert r.receipt is not None and not r.receipt.completed


def test_long_request_holds_back_neither_receipts_nor_metrics():
    """A request open for 30 s: a short request that ended meanwhile has its final receipt within
    max_lag_s (+ an interval), and the measured-energy counter moves with every interval."""
    rig = Rig(400.0, 100.0, "even")
    lag = rig.acct.config.max_lag_s
    long = rig.acct.open("chat", prompt_tokens=100)
    rig.advance(0.2)
    with rig.acct.request("chat", prompt_tokens=10) as short:
        rig.advance(0.1)
        short.add_tokens(3)
    energy = []
    for _ in range(int((lag + 0.2) / 0.1)):
        rig.advance(0.1)
        long.add_tokens(1)
        energy.append(rig.metrics.registry.get_sample_value(
            "wattprint_energy_joules_total", {"device": next(iter(rig.intervals[0].energy_j)), "kind": "gpu"}))
    final = rig.acct.final_receipt(short.id)
    assert final is not None and final.final and final.energy_j > 0
    assert all(b == pytest.approx(a + 40.0, rel=1e-6) for a, b in zip(energy, energy[1:]))  # 400 W x 0.1 s each
    assert rig.acct.open_requests() == 1
    rig.advance(20.0)
    long.finish()
    rig.advance(lag + 0.2)
    got = rig.acct.final_receipt(long.id)
    assert got is not None and any("attributed while it ran" in w for w in got.warnings)
    tot = rig.acct.totals()
    assert got.energy_j + final.energy_j + tot["idle_unamortised_j"] + tot["unattributed_j"] == pytest.approx(
        tot["measured_j"], rel=1e-9)
