"""The report shows what the records hold beyond the total: safety checker, preprocess phase, preset score."""

import csv
import io
import json

import pytest

from wattprint.report.formats import ReportOptions, render


def _records(record):
    sd = [record("image-generation", "sd-v1-5", 3600.0, inferences=10, repeat=i, preset="paper",
                 safety_checker=True) for i in range(2)]
    # aienergyscore: 100 inferences, preprocess GPU 36 J and 72 J -> 0.1 and 0.2 Wh per 1,000 (mean 0.15)
    aes = [record("text-classification", "tiny-bert", 360.0, inferences=100, repeat=i, preset="aienergyscore",
                  preprocess_gpu_energy_j=36.0 * (i + 1), score_wh_per_1000=s,
                  score_basis="GPU energy of preprocess + inference, per 1,000 inferences")
           for i, s in enumerate((1.25, 1.75))]
    plain = [record("text-classification", "small-bert", 720.0)]
    return sd + aes + plain


def test_json_and_csv_carry_the_fields(record):
    data = json.loads(render("json", _records(record), ReportOptions()))
    rows = {r["model"]: r for r in data["rows"]}
    assert rows["sd-v1-5"]["safety_checker"] is True
    assert rows["tiny-bert"]["preprocess_gpu_wh_per_1000"] == pytest.approx(0.15)
    assert rows["tiny-bert"]["score_wh_per_1000"] == 1.5
    assert rows["tiny-bert"]["score_basis"].startswith("GPU energy of preprocess + inference")
    assert rows["small-bert"]["safety_checker"] is None and rows["small-bert"]["score_wh_per_1000"] is None
    by_model = {r["model"]: r for r in csv.DictReader(io.StringIO(render("csv", _records(record), ReportOptions())))}
    assert by_model["tiny-bert"]["score_wh_per_1000"] == "1.5"
    assert by_model["small-bert"]["preprocess_gpu_wh_per_1000"] == ""


def test_markdown_and_html_show_them(record):
    md = render("md", _records(record), ReportOptions())
    sd_line = next(ln for ln in md.splitlines() if "| sd-v1-5 |" in ln)
    assert "safety checker ran" in sd_line
    tiny = next(ln for ln in md.splitlines() if "| tiny-bert |" in ln)
    assert "preprocess GPU 0.15 Wh / 1,000" in tiny and "score 1.5 Wh / 1,000 (GPU energy of preprocess" in tiny
    small = next(ln for ln in md.splitlines() if "| small-bert |" in ln)
    assert "safety checker" not in small and "score" not in small
    html = render("html", _records(record), ReportOptions())
    assert "safety checker ran" in html and "preprocess GPU 0.15 Wh / 1,000" in html


def test_checker_not_run_is_said(record):
    recs = [record("image-generation", "sd-v1-5", 3600.0, inferences=10, safety_checker=False)]
    assert "safety checker not run" in render("md", recs, ReportOptions())


PIPE = "pipeline: transformers 'text-classification', one call per batch, its pre- and post-processing inside"


def test_pipeline_and_direct_runs_are_rows_apart_and_say_how_they_ran(record):
    # the same model, preset and dataset: one run through a transformers pipeline, one driven directly
    recs = [record("text-classification", "tiny-bert", 360.0, inferences=100, preset="paper", driver=PIPE),
            record("text-classification", "tiny-bert", 720.0, inferences=100, repeat=1, preset="paper",
                   driver="direct (pipeline asked: no pipeline path)"),
            record("text-classification", "small-bert", 720.0, driver="direct")]
    data = json.loads(render("json", recs, ReportOptions()))
    tiny = sorted((r for r in data["rows"] if r["model"] == "tiny-bert"), key=lambda r: r["kwh_per_1000_mean"])
    assert [r["runs"] for r in tiny] == [1, 1]  # never averaged together
    assert tiny[0]["driver"] == PIPE and tiny[1]["driver"].startswith("direct (pipeline asked")
    md = render("md", recs, ReportOptions())
    lines = [ln for ln in md.splitlines() if "| tiny-bert |" in ln]
    assert any("pipeline: transformers 'text-classification'" in ln and "one call per batch" not in ln
               for ln in lines)
    assert any("direct (pipeline asked: no pipeline path)" in ln for ln in lines)
    small = next(ln for ln in md.splitlines() if "| small-bert |" in ln)
    assert "direct" not in small  # the default way is not said on every row
    by_model = [r for r in csv.DictReader(io.StringIO(render("csv", recs, ReportOptions())))]
    assert {r["driver"] for r in by_model} == {PIPE, "direct (pipeline asked: no pipeline path)", "direct"}
