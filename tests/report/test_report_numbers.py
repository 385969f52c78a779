"""The report's numbers against a direct computation from the stored records."""

import csv
import io
import json
import math
import statistics

import pytest

from wattprint.report.formats import ReportOptions, render
from wattprint.store.codecarbon_import import ImportOptions, import_files
from wattprint.store.sqlite import Store

# (task, model, parameters, kind, [energy_j of each repeat], inferences)
NATIVE = [
    ("text-classification", "tiny-bert", 4_400_000, "task-specific", [36.0, 39.6, 32.4], 100),
    ("text-classification", "small-bert", 29_000_000, "task-specific", [180.0, 190.0], 100),
    ("text-classification", "flan-zero-shot", 77_000_000, "general-purpose", [3600.0], 100),
    ("text-generation", "gpt-7b", 7_000_000_000, "general-purpose", [7200.0, 7560.0], 50),
    ("text-generation", "gpt-13b", 13_000_000_000, "general-purpose", [14400.0, 13680.0], 50),
    ("text-generation", "gpt-176b", 176_000_000_000, "general-purpose", [180000.0], 50),
    ("text-generation", "gpt-70b", 70_000_000_000, "general-purpose", [72000.0], 50),
]


@pytest.fixture
def store_path(tmp_path, record, fixtures_dir):
    path = tmp_path / "wattprint.db"
    with Store(path) as store:
        for task, model, params, kind, energies, n in NATIVE:
            for i, e in enumerate(energies):
                store.add(record(task, model, e, inferences=n, repeat=i, parameters=params, model_kind=kind,
                                 gco2e=e / 3.6e6 * 50.0, node="node-a", gpu_uuids=["GPU-1"]))
        store.add(record("text-classification", "failed-one", 1.0, status="failed"))
        import_files([fixtures_dir / "v3.2.9_emissions.csv", fixtures_dir / "v1.2.0_emissions.csv"],
                     ImportOptions(inferences_per_run=500), store)
    return path


def _direct(store_path):
    """kWh per 1,000 per configuration, computed straight from energy_j and inferences."""
    with Store(store_path, recover=False) as s:
        runs = s.runs()
    groups = {}
    kinds = {}
    for r in runs:
        groups.setdefault((r.task, r.model, r.preset), []).append(r.energy_j / r.inferences * 1000 / 3.6e6)
        kinds[(r.task, r.model, r.preset)] = r.model_kind if r.model_kind in ("task-specific", "general-purpose") \
            else "unknown"
    return runs, groups, kinds


def test_json_report_matches_direct_computation(store_path):
    runs, groups, kinds = _direct(store_path)
    with Store(store_path, recover=False) as s:
        data = json.loads(render("json", s.runs(), ReportOptions()))
    rows = {(r["task"], r["model"], r["preset"]): r for r in data["rows"]}
    assert set(rows) == set(groups)  # the failed run is not there; imported ones are
    for key, vals in groups.items():
        row = rows[key]
        assert row["runs"] == len(vals)
        assert row["kwh_per_1000_mean"] == pytest.approx(statistics.fmean(vals), rel=1e-9)
        if len(vals) > 1:
            sd = statistics.stdev(vals)
            assert row["kwh_per_1000_std"] == pytest.approx(sd, rel=1e-9)
            t = {2: 12.706, 3: 4.303}[len(vals)]
            assert row["kwh_per_1000_ci95_high"] - row["kwh_per_1000_mean"] == pytest.approx(
                t * sd / math.sqrt(len(vals)), rel=1e-9)
    # one summary per (preset, task); within it one set of statistics per model kind, never mixed
    assert {(t["preset"], t["task"]) for t in data["tasks"]} == {(k[2], k[0]) for k in groups}
    for t in data["tasks"]:
        assert set(t["kinds"]) == {kinds[k] for k in groups if (k[2], k[0]) == (t["preset"], t["task"])}
        for kind, ks in t["kinds"].items():
            means = [statistics.fmean(v) for k, v in groups.items()
                     if (k[2], k[0]) == (t["preset"], t["task"]) and kinds[k] == kind]
            assert ks["configurations"] == len(means)
            assert ks["kwh_per_1000_mean"] == pytest.approx(statistics.fmean(means))
            assert ks["kwh_per_1000_median"] == pytest.approx(statistics.median(means))
            if len(means) > 1:
                assert ks["kwh_per_1000_std"] == pytest.approx(statistics.stdev(means))
            assert ks["least"]["kwh_per_1000"] == pytest.approx(min(means))
            assert ks["most"]["kwh_per_1000"] == pytest.approx(max(means))
    # the quick preset's text classification: 2 task-specific models apart from the zero-shot Flan one
    tc = next(t for t in data["tasks"] if (t["preset"], t["task"]) == ("quick", "text-classification"))
    ts_median = statistics.median([statistics.fmean(groups[("text-classification", m, "quick")])
                                   for m in ("tiny-bert", "small-bert")])
    assert tc["primary_kind"] == "task-specific"
    assert tc["kinds"]["task-specific"]["kwh_per_1000_median"] == pytest.approx(ts_median)
    assert tc["median_ratio_to_primary"]["general-purpose"] == pytest.approx(
        statistics.fmean(groups[("text-classification", "flan-zero-shot", "quick")]) / ts_median)


def test_correlation_and_stars(store_path):
    _, groups, _ = _direct(store_path)
    with Store(store_path, recover=False) as s:
        data = json.loads(render("json", s.runs(), ReportOptions()))
    gen = [(p, statistics.fmean(groups[("text-generation", m, "quick")])) for _, m, p, *_ in NATIVE[3:]]
    lx = [math.log10(p) for p, _ in gen]
    ly = [math.log10(e) for _, e in gen]
    r = statistics.correlation(lx, ly)
    tg = next(t for t in data["tasks"] if t["task"] == "text-generation")
    assert tg["kinds"]["general-purpose"]["log_log_pearson_r_parameters_energy"] == pytest.approx(r, rel=1e-9)
    stars = {r["model"]: (r["stars"], r["rating_class"]) for r in data["rows"]}
    # text generation is rated within size classes: 7B vs 13B, and 70B vs 176B, never 7B vs 176B
    assert stars["gpt-7b"] == (5, "≤ 20B") and stars["gpt-13b"] == (1, "≤ 20B")
    assert stars["gpt-70b"] == (5, "> 66B") and stars["gpt-176b"] == (1, "> 66B")
    # text classification: log-space bands between the cheapest and dearest configuration of one protocol
    # (the imported CodeCarbon runs are rated among themselves)
    tc = {k[1]: statistics.fmean(v) for k, v in groups.items() if k[0] == "text-classification" and k[2] == "quick"}
    lo, hi = math.log10(min(tc.values())), math.log10(max(tc.values()))
    for model, kwh in tc.items():
        band = min(int((math.log10(kwh) - lo) / (hi - lo) * 5), 4)
        assert stars[model][0] == 5 - band, model


def test_imported_runs_in_every_format(store_path):
    with Store(store_path, recover=False) as s:
        runs = s.runs()
    text_csv = render("csv", runs, ReportOptions())
    rows = list(csv.DictReader(io.StringIO(text_csv)))
    origins = {r["model"]: r["origin"] for r in rows if r["preset"] == "codecarbon"}
    assert origins and set(origins.values()) == {"codecarbon"}
    md = render("md", runs, ReportOptions())
    html = render("html", runs, ReportOptions())
    for model in origins:
        assert model in md and model in html
    assert "codecarbon (tracking_mode=" in html
    cc = list(csv.DictReader(io.StringIO(render("codecarbon", runs, ReportOptions()))))
    assert len(cc) == len(runs)


def test_markdown_escapes_pipes_and_tags(record):
    recs = [record("text-classification", "a|b <script>", 36.0)]
    md = render("md", recs, ReportOptions())
    assert "a\\|b &lt;script>" in md and "<script>" not in md


def test_breakeven_section_for_models_with_published_training_energy(record):
    # bloomz-560m: 10,505 kWh training + 1,148 kWh finetuning (Luccioni et al. 2024)
    recs = [record("text-generation", "bloomz-560m", 3.6e6 * 0.056, inferences=1000, parameters=559_214_592),
            record("text-generation", "gpt2", 3600.0)]
    data = json.loads(render("json", recs, ReportOptions()))
    (be,) = data["breakeven"]
    assert be["model"] == "bloomz-560m" and be["kwh_per_inference"] == pytest.approx(5.6e-5)
    assert be["inferences"] == pytest.approx((10505 + 1148) / 5.6e-5)
    assert be["days_at_1m_per_day"] == pytest.approx(be["inferences"] / 1e6)
    assert "Training against inference" in render("html", recs, ReportOptions())
