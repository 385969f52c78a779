"""A store built from real benchmark runs of small models (random weights, CPU, the real meter), then
CodeCarbon imports on top: the report's numbers must be what the stored records say."""

import json
import statistics

import pytest

from wattprint.bench.compare import CompareRequest, run_jobs
from wattprint.report.compare import comparison_from_records
from wattprint.report.compare_view import to_html, to_text
from wattprint.report.formats import ReportOptions, render
from wattprint.store.codecarbon_import import ImportOptions, import_files
from wattprint.store.sqlite import Store

pytestmark = pytest.mark.slow
# Two inputs, two repeats, a two-token answer: enough for a mean and a spread, quick on a shared 2-core CPU.
SMALL = {"samples": 2, "repeats": 2, "idle_seconds": 0, "workload": "synthetic", "device": "cpu",
         "params": {"max_new_tokens": 2}}


@pytest.fixture(scope="module")
def real_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("real") / "wattprint.db"
    req = CompareRequest("text-classification", ("distilbert-sst2",), ("flan-t5-small",), "quick", SMALL)
    with Store(path) as store:
        comparison = comparison_from_records(req, run_jobs(req, store=store))
    return path, req, comparison


def test_compare_ran_both_models_through_the_runner(real_store):
    path, req, comparison = real_store
    with Store(path, recover=False) as s:
        runs = s.runs(task="text-classification")
    assert sorted({r.model for r in runs}) == ["distilbert-sst2", "flan-t5-small"]
    assert all(r.status == "finished" and r.inferences == 2 and r.energy_j > 0 for r in runs)
    gen = [r for r in runs if r.model == "flan-t5-small"]
    assert all(r.generated_tokens and r.model_kind == "general-purpose" for r in gen)  # it generated its answer
    rows = {r.model: r for r in comparison.rows}
    for model, row in rows.items():
        mine = [r.wh_per_1000 / 1000 for r in runs if r.model == model]
        assert row.kwh_per_1000 == pytest.approx(statistics.fmean(mine))
        assert row.score is None and row.score_note == "n/a (random weights)"
    (g, s, ratio), = comparison.pairs()
    assert ratio == pytest.approx(rows["flan-t5-small"].kwh_per_1000 / rows["distilbert-sst2"].kwh_per_1000)
    assert "x the energy of distilbert-sst2" in to_text(comparison)
    assert "<svg" in to_html(comparison)
    # the same comparison from the store, without running again
    again = comparison_from_records(req, runs)
    assert [r.kwh_per_1000 for r in again.rows] == pytest.approx([r.kwh_per_1000 for r in comparison.rows])


def test_report_of_real_and_imported_runs(real_store, fixtures_dir):
    path, _, _ = real_store
    with Store(path, recover=False) as s:
        import_files([fixtures_dir / "v2.8.0_emissions.csv"], ImportOptions(inferences_per_run=1000), s)
        runs = s.runs()
    data = json.loads(render("json", runs, ReportOptions()))
    rows = {(r["task"], r["model"], r["preset"]): r for r in data["rows"]}
    for (task, model, preset), row in rows.items():
        mine = [r for r in runs if (r.task, r.model, r.preset) == (task, model, preset)]
        direct = [r.energy_j / r.inferences * 1000 / 3.6e6 for r in mine]
        assert row["kwh_per_1000_mean"] == pytest.approx(statistics.fmean(direct), rel=1e-9)
        assert row["runs"] == len(mine)
        assert row["origin"] == mine[0].origin
    native = rows[("text-classification", "distilbert-sst2", "quick")]
    assert native["weights"] == "random" and native["workload"] == "synthetic" and native["stars"] in range(1, 6)
    assert "cpu estimated" in native["energy_methods"] and native["hardware"].startswith("CPU: ")
    assert native["gco2e_per_1000"] is not None  # the runner stored carbon (world average when none set)
    assert "WORLD" in native["carbon_source"] and "defaulted" in native["carbon_source"]
    assert rows[("text-classification", "distilbert-sst2", "codecarbon")]["origin"] == "codecarbon"
