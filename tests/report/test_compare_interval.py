"""The energy ratio of a comparison comes with a 95% interval from the repeats, and the comparison shows progress."""

from __future__ import annotations

import json
import math
import random
import sys
from pathlib import Path

import pytest

from wattprint.bench.compare import CompareRequest, run_jobs
from wattprint.bench.stats import t_quantile
from wattprint.report.compare import comparison_from_records, ratio_interval
from wattprint.report.compare_view import to_html, to_text


def _comparison(record, spec_j, gen_j, task="text-classification"):
    recs = [record(task, "spec", e, repeat=i) for i, e in enumerate(spec_j)]
    recs += [record(task, "gen", e, repeat=i) for i, e in enumerate(gen_j)]
    return comparison_from_records(CompareRequest(task, ("spec",), ("gen",)), recs)


def test_the_interval_is_the_propagated_t_interval_of_the_ratio(record):
    c = _comparison(record, [100.0, 110.0, 90.0], [1000.0, 1200.0, 800.0])
    ((g, s, x),) = c.pairs()
    lo, hi = ratio_interval(g, s)
    assert x == pytest.approx(10.0)
    # by hand: relative standard errors 0.1/sqrt(3) and 0.2/sqrt(3) added in quadrature on log(ratio);
    # Welch-Satterthwaite df = (a+b)^2 / (a^2/2 + b^2/2) = 50/17
    a, b = 0.1**2 / 3, 0.2**2 / 3
    df = (a + b) ** 2 / (a * a / 2 + b * b / 2)
    assert df == pytest.approx(50 / 17)
    assert t_quantile(0.975, 3) == pytest.approx(3.1824, abs=1e-4)  # Student's t tables
    half = t_quantile(0.975, df) * math.sqrt(a + b)
    assert lo == pytest.approx(10.0 * math.exp(-half), rel=1e-3)
    assert hi == pytest.approx(10.0 * math.exp(half), rel=1e-3)
    assert lo < x < hi and 1.0 < lo  # ten times the energy, and the repeats say so


def test_two_identical_runs_give_an_interval_that_contains_one(record):
    same = [100.0, 93.0, 108.0, 99.0]
    ((g, s, x),) = _comparison(record, same, list(reversed(same))).pairs()
    lo, hi = ratio_interval(g, s)
    assert x == pytest.approx(1.0) and lo < 1.0 < hi


def test_the_interval_covers_the_true_ratio_about_95_percent_of_the_time(record):
    """Two models whose energies are drawn from the same distribution (true ratio 1), 3 repeats each, like the
    two identical runs that once said 0.7x and 1.1x without an interval."""
    rng = random.Random(7)
    trials, hits = 2000, 0
    for _ in range(trials):
        spec = [rng.gauss(100.0, 15.0) for _ in range(3)]
        gen = [rng.gauss(100.0, 15.0) for _ in range(3)]
        ((g, s, _),) = _comparison(record, spec, gen).pairs()
        lo, hi = ratio_interval(g, s)
        hits += lo <= 1.0 <= hi
    assert 0.93 <= hits / trials <= 0.985


def test_one_repeat_has_no_interval_and_says_how_to_get_one(record):
    c = _comparison(record, [100.0], [195.0, 205.0])
    ((g, s, x),) = c.pairs()
    assert ratio_interval(g, s) is None
    text = to_text(c)
    assert "gen uses 2.0x the energy of spec per inference (no interval: one repeat of spec; --repeats 3" in text
    d = c.to_dict()["ratios"][0]
    assert d["energy_ratio_low"] is None and d["repeats"] == [2, 1]


def test_text_json_and_html_carry_the_interval(record):
    c = _comparison(record, [100.0, 110.0, 90.0], [1000.0, 1200.0, 800.0])
    text = to_text(c)
    assert "gen uses 10.0x the energy of spec per inference (95% interval " in text
    assert "from 3 and 3 repeats)" in text
    d = json.loads(json.dumps(c.to_dict()))
    (r,) = d["ratios"]
    assert r["energy_ratio_low"] < r["energy_ratio"] < r["energy_ratio_high"] and r["confidence"] == 0.95
    assert "95% interval" in to_html(c)


class RecordingProgress:
    def __init__(self):
        self.events = []

    def plan(self, jobs):
        self.events.append(("plan", jobs))

    def job_started(self, label, repeats):
        self.events.append(("job", label.split(" / ")[1], repeats))

    def stage(self, text):
        pass

    def repeat_started(self, repeat, repeats, inputs):
        self.events.append(("repeat", repeat, repeats))

    def advance(self, n):
        pass

    def job_finished(self, label, summary):
        self.events.append(("done", label.split(" / ")[1]))

    def close(self):
        self.events.append(("close",))


@pytest.mark.slow
def test_run_compare_shows_progress_and_repeats_three_times_by_default(tmp_path):
    sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))
    from tiny import TINY_BERT, tiny_model

    a = tiny_model(tmp_path, "a", TINY_BERT)
    b = tiny_model(tmp_path, "b", TINY_BERT)  # the same model under another name: an identical pair

    def cpu_meter(**kw):
        from wattprint.meter.meter import Meter

        return Meter(**{**kw, "gpus": None})

    progress = RecordingProgress()
    req = CompareRequest("text-classification", (a,), (b,), "quick",
                         {"samples": 4, "weights": "random", "workload": "synthetic", "idle_seconds": 0})
    c = comparison_from_records(req, run_jobs(req, meter_factory=cpu_meter, progress=progress))
    assert progress.events[0] == ("plan", 2) and progress.events[-1] == ("close",)
    assert [e for e in progress.events if e[0] == "job"] == [("job", a, 3), ("job", b, 3)]
    assert [e[1] for e in progress.events if e[0] == "repeat"] == [0, 1, 2, 0, 1, 2]
    ((g, s, x),) = c.pairs()
    assert g.runs == s.runs == 3
    lo, hi = ratio_interval(g, s)
    assert 0 < lo < x < hi
