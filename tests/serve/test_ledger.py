"""The split of measured intervals among requests: hand-computed cases and conservation."""

from __future__ import annotations

import random

import pytest

from wattprint.serve.attribution import IdlePolicy, Interval
from wattprint.serve.ledger import Ledger, LedgerConfig, Track


def iv(t0, t1, joules, idle_w=None, key="gpu:0"):
    return Interval(t0, t1, {key: joules}, {key: idle_w} if idle_w is not None else {}, {key: "gpu"})


def two_requests(policy):
    """A streams: 10 prompt tokens, first token at 0.5 s, ends there. B is not streamed: 29 prompt
    tokens and 0 completion over 0..1 s. One interval of 100 J with a 20 W idle baseline."""
    led = Ledger(LedgerConfig(policy=policy))
    led.open(Track("A", 0.0, 10, "given"))
    led.open(Track("B", 0.0, 29, "given"))
    led.tokens("A", 0.5, 1)
    led.close("A", 0.5, None, True)
    led.close("B", 1.0, {"prompt_tokens": 29, "completion_tokens": 0}, True)
    settled = {}
    led._on_settled = lambda tr: settled.__setitem__(tr.id, tr)
    led.add_interval(iv(0.0, 1.0, 100.0, idle_w=20.0), now=1.0)
    return led, settled


@pytest.mark.parametrize("policy, idle_a, idle_b, left", [
    (IdlePolicy.NONE, 0.0, 0.0, 20.0),
    (IdlePolicy.EVEN, 20 / 3, 40 / 3, 0.0),  # in flight 0.5 s and 1 s
    (IdlePolicy.PROPORTIONAL, 20 * 11 / 40, 20 * 29 / 40, 0.0),
])
def test_hand_computed_split(policy, idle_a, idle_b, left):
    led, settled = two_requests(policy)
    a, b = settled["A"], settled["B"]
    # energy above idle: 80 J shared 11 : 29 (A: 10 prompt + 1 generated token, B: 29 prompt tokens)
    assert a.final_dynamic_j["gpu:0"] == pytest.approx(80 * 11 / 40)
    assert b.final_dynamic_j["gpu:0"] == pytest.approx(80 * 29 / 40)
    assert sum(a.final_idle_j.values()) == pytest.approx(idle_a)
    assert sum(b.final_idle_j.values()) == pytest.approx(idle_b)
    assert led.totals.as_dict()["idle_unamortised_j"] == pytest.approx(left)
    assert led.totals.as_dict()["measured_j"] == pytest.approx(100.0)


def test_interval_waits_for_open_request_then_settles():
    led = Ledger(LedgerConfig(policy=IdlePolicy.NONE))
    led.open(Track("A", 0.0, 4, "given"))
    led.add_interval(iv(0.0, 0.1, 10.0), now=0.1)
    assert len(led.pending) == 1 and led.totals.intervals == 0  # A may still report usage
    led.tokens("A", 0.15, 1)
    led.close("A", 0.2, {"prompt_tokens": 8, "completion_tokens": 1}, True)
    led.add_interval(iv(0.1, 0.2, 10.0), now=0.2)
    assert not led.pending and "A" not in led.tracks
    assert led.totals.as_dict()["dynamic_j"] == pytest.approx(20.0)


def test_usage_rescales_counted_tokens():
    """A counted 2 chunks but usage says 6 generated tokens; B counted 6 chunks with no usage."""
    led = Ledger(LedgerConfig(policy=IdlePolicy.NONE))
    got = {}
    led._on_settled = lambda tr: got.__setitem__(tr.id, sum(tr.final_dynamic_j.values()))
    for rid in "AB":
        led.open(Track(rid, 0.0, 0, "given"))
    for k in range(2):
        led.tokens("A", 0.1 * (k + 1), 1)
    for k in range(6):
        led.tokens("B", 0.03 * (k + 1), 1)
    led.close("A", 0.2, {"prompt_tokens": 0, "completion_tokens": 6}, True)
    led.close("B", 0.2, None, True)
    led.add_interval(iv(0.0, 0.2, 12.0), now=0.2)
    assert got["A"] == pytest.approx(6.0) and got["B"] == pytest.approx(6.0)


def test_no_request_in_flight_is_unattributed_or_idle():
    led = Ledger(LedgerConfig(policy=IdlePolicy.EVEN))
    led.add_interval(iv(0.0, 1.0, 50.0, idle_w=30.0), now=1.0)
    t = led.totals.as_dict()
    assert t["idle_unamortised_j"] == pytest.approx(30.0) and t["unattributed_j"] == pytest.approx(20.0)


def test_forced_after_max_lag():
    led = Ledger(LedgerConfig(policy=IdlePolicy.NONE, max_lag_s=1.0))
    led.open(Track("stuck", 0.0, 100, "given"))
    led.add_interval(iv(0.0, 0.5, 5.0), now=0.5)
    assert led.totals.intervals == 0
    led.add_interval(iv(0.5, 1.0, 5.0), now=1.6)  # the first interval is now 1.1 s old
    assert led.totals.intervals == 1
    assert led.tracks["stuck"].forced
    assert sum(led.tracks["stuck"].final_dynamic_j.values()) == pytest.approx(5.0)


@pytest.mark.parametrize("policy", list(IdlePolicy))
def test_conservation_random_traffic(policy):
    """200 requests, random lengths and overlaps, 3 components, intervals of 0.1 s with jitter: the
    requests' energy + unamortised idle + unattributed equals the measured energy within 1e-9 relative."""
    rng = random.Random(7)
    led = Ledger(LedgerConfig(policy=policy, prefill_weight=0.5))
    per_request = {}
    led._on_settled = lambda tr: per_request.__setitem__(
        tr.id, sum(tr.final_dynamic_j.values()) + sum(tr.final_idle_j.values()))
    events = []
    for i in range(200):
        start = rng.uniform(0, 20)
        ttft = rng.uniform(0.01, 0.5)
        n = rng.randint(0, 40)
        gap = rng.uniform(0.005, 0.05)
        streamed = rng.random() < 0.7
        events.append((start, "open", f"r{i}", rng.randint(1, 500)))
        times = [start + ttft + k * gap for k in range(n)]
        if streamed:
            events += [(t, "tok", f"r{i}", 1) for t in times]
        end = (times[-1] if times else start + ttft) + 0.001
        events.append((end, "close", f"r{i}", {"completion_tokens": n} if rng.random() < 0.5 else None))
    events.sort(key=lambda e: e[0])
    t, measured = 0.0, 0.0
    keys = {"gpu:0": ("gpu", 300.0, 120.0), "cpu": ("cpu", 40.0, 25.0), "ram": ("ram", 5.0, 5.0)}
    for when, what, rid, arg in events + [(30.0, "end", "", None)]:
        while t + 0.1 <= when:
            t1 = t + rng.uniform(0.08, 0.12)
            energy = {k: (rng.uniform(0.3, 1.2) * p) * (t1 - t) for k, (_, p, _i) in keys.items()}
            measured += sum(energy.values())
            led.add_interval(Interval(t, t1, energy, {k: v[2] for k, v in keys.items()},
                                      {k: v[0] for k, v in keys.items()}), now=t1)
            t = t1
        if what == "open":
            led.open(Track(rid, when, arg, "given"))
        elif what == "tok":
            led.tokens(rid, when, arg)
        elif what == "close":
            led.close(rid, when, arg, True)
    assert not led.tracks and not led.pending
    tot = led.totals.as_dict()
    fleet = tot["idle_unamortised_j"] + tot["unattributed_j"]
    assert tot["measured_j"] == pytest.approx(measured, rel=1e-12)
    assert sum(per_request.values()) + fleet == pytest.approx(measured, rel=1e-9)
    assert sum(per_request.values()) > 0.3 * measured
    if policy is IdlePolicy.NONE:
        assert tot["idle_amortised_j"] == 0.0


@pytest.mark.parametrize("policy", list(IdlePolicy))
def test_share_from_totals_matches_split_interval(policy):
    from wattprint.serve.attribution import share_from_totals, split_interval

    rng = random.Random(3)
    for _ in range(200):
        ids = [f"r{i}" for i in range(rng.randint(1, 6))]
        work = {r: rng.choice([0.0, rng.uniform(0, 50)]) for r in ids}
        flight = {r: rng.uniform(0, 0.1) for r in ids}
        interval = Interval(0.0, 0.1, {"gpu:0": 40.0, "cpu": 3.0}, {"gpu:0": 150.0, "cpu": 20.0})
        busy = rng.uniform(0, 0.1)
        full = split_interval(interval, work, flight, policy, busy)
        for r in ids:
            one = share_from_totals(interval, work[r], sum(work.values()), flight[r], sum(flight.values()),
                                    policy, busy)
            want = full.shares.get(r)
            for attr in ("dynamic_j", "idle_j"):
                got = getattr(one, attr)
                exp = getattr(want, attr) if want else {}
                for key in set(got) | set(exp):
                    assert got.get(key, 0.0) == pytest.approx(exp.get(key, 0.0), rel=1e-12, abs=1e-15)


def test_idle_of_gaps_stays_with_the_fleet():
    """One request in flight for 0.25 s of a 1 s interval: 'even' gives it the idle of 0.25 s only."""
    led = Ledger(LedgerConfig(policy=IdlePolicy.EVEN))
    got = {}
    led._on_settled = lambda tr: got.__setitem__(tr.id, sum(tr.final_idle_j.values()))
    led.open(Track("A", 0.5, 10, "given"))
    led.close("A", 0.75, {"prompt_tokens": 10, "completion_tokens": 0}, True)
    led.add_interval(iv(0.0, 1.0, 100.0, idle_w=20.0), now=1.0)
    assert got["A"] == pytest.approx(5.0)
    assert led.totals.as_dict()["idle_unamortised_j"] == pytest.approx(15.0)


def _random_ledgers(seed, n=300, cls=Ledger):
    """Random event sequences (opens, tokens, closes with or without usage, intervals) on ledgers of
    every policy; yields (ledger, the receipt time, the interval after the last measured one, the
    settled requests in order with their final figures)."""
    rng = random.Random(seed)
    for _ in range(n):
        led = cls(LedgerConfig(policy=rng.choice(list(IdlePolicy)), prefill_weight=rng.choice([0.5, 1.0, 2.0]),
                               max_lag_s=rng.choice([0.05, 600.0])))
        settled = []
        led._on_settled = lambda tr, settled=settled: settled.append(
            (tr.id, dict(tr.final_dynamic_j), dict(tr.final_idle_j), tr.forced))
        t = t_iv = 0.0
        for step in range(rng.randint(1, 60)):
            t += rng.uniform(0, 0.03)
            r = rng.random()
            open_ids = [rid for rid, tr in led.tracks.items() if tr.end is None]
            if r < 0.3:
                led.open(Track(f"r{step}", t, rng.uniform(0, 30), "given"))
            elif r < 0.65 and open_ids:
                led.tokens(rng.choice(open_ids), t, rng.choice([0.0, 1.0, 2.0]))
            elif r < 0.85 and open_ids:
                usage = rng.choice([None, {"prompt_tokens": 5, "completion_tokens": 3}])
                led.close(rng.choice(open_ids), t, usage, rng.random() < 0.8)
                led.settle(t)
            else:
                led.add_interval(Interval(t_iv, t, {"gpu:0": rng.uniform(0, 50), "cpu": rng.uniform(0, 5)},
                                          {"gpu:0": 60.0}), t)
                t_iv = t
        now = t + rng.uniform(0, 0.01)
        yield led, now, Interval(t_iv, now, {"gpu:0": 3.0, "cpu": 0.1}, {"gpu:0": 60.0}, estimated=True), settled


def test_one_requests_shares_match_the_full_split():
    """split_many(only=rid) (a receipt's path, from running totals) gives each request what the full
    split of everyone gives it, over one interval and several, with open requests counted as of now."""
    checked = 0
    for led, now, tail, _ in _random_ledgers(5):
        for intervals in (list(led.pending) + [tail], [tail], list(led.pending)):
            if not intervals:
                continue
            for when in (now, None):
                full = led.split_many(intervals, when)
                for rid in led.tracks:
                    for mine, everyone in zip(led.split_many(intervals, when, only=rid), full):
                        got, want = mine.shares[rid], everyone.shares.get(rid)
                        for attr in ("dynamic_j", "idle_j"):
                            g, w = getattr(got, attr), getattr(want, attr) if want else {}
                            for key in set(g) | set(w):
                                assert g.get(key, 0.0) == pytest.approx(w.get(key, 0.0), rel=1e-9, abs=1e-12)
                    checked += 1
    assert checked > 1000


class BruteForce(Ledger):
    """The ledger without its index: every request is a candidate for every split, in open order."""

    def candidates(self, lo, hi):
        return list(self.tracks.values())


def test_index_settles_like_a_scan_of_every_request():
    """Ledger.candidates (ended requests by bisection on their end, then open ones) settles the same
    requests, in the same order, with the same figures (to rounding), as scanning every request."""
    settled = 0
    for fast, slow in zip(_random_ledgers(11, 300), _random_ledgers(11, 300, cls=BruteForce)):
        assert [(rid, forced) for rid, *_, forced in fast[3]] == [(rid, forced) for rid, *_, forced in slow[3]]
        for (_, dyn_f, idle_f, _), (_, dyn_s, idle_s, _) in zip(fast[3], slow[3]):
            for got, want in ((dyn_f, dyn_s), (idle_f, idle_s)):
                assert got.keys() == want.keys()
                assert all(got[k] == pytest.approx(want[k], rel=1e-9, abs=1e-12) for k in got)
        assert set(fast[0].tracks) == set(slow[0].tracks)
        assert fast[0].totals.as_dict() == pytest.approx(slow[0].totals.as_dict(), rel=1e-9, abs=1e-12)
        settled += len(fast[3])
    assert settled > 500


def test_one_long_request_holds_back_nobody():
    """A stream open for 60 s (a token every 0.05 s) while short requests come and go, 20 a second: each
    short request settles within max_lag_s (+ two intervals) of its end, the ledger holds a bounded
    number of requests, intervals and segments all along, and conservation still holds at the end."""
    rng = random.Random(1)
    led = Ledger(LedgerConfig(policy=IdlePolicy.EVEN))
    lag = led.config.max_lag_s
    assert lag <= 30.0  # a default that bounds the delay (it was 600 s)
    ends, late, per_request = {}, [], {}

    def on_settled(tr):
        per_request[tr.id] = sum(tr.final_dynamic_j.values()) + sum(tr.final_idle_j.values())
        if tr.id != "long" and now - ends[tr.id] > lag + 0.2:
            late.append((tr.id, now - ends[tr.id]))

    led._on_settled = on_settled
    led.open(Track("long", 0.0, 50, "given"))
    held, t_iv, measured, n = [], 0.0, 0.0, 0
    for step in range(1, 1201):  # 60 s in steps of 0.05 s
        now = step * 0.05
        led.tokens("long", now, 1)
        led.open(Track(f"s{step}", now, rng.uniform(1, 20), "given"))
        ends[f"s{step}"] = now + 0.03
        led.close(f"s{step}", now + 0.03, {"prompt_tokens": 5, "completion_tokens": 2}, True)
        now += 0.03
        led.settle(now)
        if step % 2 == 0:  # a 0.1 s interval
            energy = {"gpu:0": rng.uniform(20, 40), "cpu": rng.uniform(1, 3)}
            measured += sum(energy.values())
            led.add_interval(Interval(t_iv, now, energy, {"gpu:0": 100.0, "cpu": 10.0}), now)
            t_iv = now
            n += 1
        held.append((len(led.tracks), len(led.pending), len(led.tracks["long"].segments)))
    assert not late, late[:3]
    assert len(per_request) >= 1000  # the short requests settled while the long one ran (all but the last 10 s)
    max_tracks, max_pending, max_segments = (max(h[i] for h in held) for i in range(3))
    assert max_tracks <= 20 * (lag + 0.3) + 2 and max_pending <= lag / 0.1 + 3
    assert max_segments <= 2 * lag / 0.1 + 64 + 4  # two per pending interval, dropped in batches of 64
    assert led.tracks["long"].forced
    led.close("long", now, None, True)
    led.add_interval(Interval(t_iv, now + 0.1, {"gpu:0": 1.0}, {"gpu:0": 100.0}), now + 0.1 + lag)
    measured += 1.0
    assert not led.tracks and not led.pending
    tot = led.totals.as_dict()
    assert sum(per_request.values()) + tot["idle_unamortised_j"] + tot["unattributed_j"] == pytest.approx(
        measured, rel=1e-9)
    assert per_request["long"] > 0.2 * measured  # in flight all along, a token in every interval


def test_usage_that_is_not_a_count_is_ignored():
    """An upstream reporting negative, fractional, boolean or absurd usage cannot make a share negative."""
    led = Ledger(LedgerConfig(policy=IdlePolicy.NONE))
    got = {}
    led._on_settled = lambda tr: got.__setitem__(tr.id, (sum(tr.final_dynamic_j.values()), tr.tokens()))
    led.open(Track("A", 0.0, 10, "given"))
    led.open(Track("B", 0.0, 10, "given"))
    led.close("A", 0.1, {"prompt_tokens": -1000, "completion_tokens": 2.5, "total_tokens": True}, True)
    led.close("B", 0.1, {"prompt_tokens": 10**15, "completion_tokens": 0}, True)
    led.add_interval(iv(0.0, 0.1, 10.0), now=0.1)
    assert got["A"][0] == pytest.approx(5.0) and got["B"][0] == pytest.approx(5.0)
    assert got["A"][1] == (10, 0) and got["B"][1] == (10, 0)  # the estimates stand


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_token_counts_must_be_finite_and_not_negative(bad):
    from wattprint.serve.accountant import Accountant
    from wattprint.serve.attribution import Interval as I

    class Source:
        clock = None

        def start(self):
            return 0.0

        def cut(self):
            return I(0.0, 0.1, {})

    acct = Accountant(Source()).start(thread=False)
    with pytest.raises(ValueError):
        acct.open("chat", prompt_tokens=bad)
    h = acct.open("chat")
    with pytest.raises(ValueError):
        h.add_tokens(bad)
