"""AI Energy Score submission files: field names and sums checked against the format AIEnergyScore reads.

The reference shapes are optimum-benchmark's energy_star ``benchmark_report.json`` (branch energy_star_dev, as
AIEnergyScore's container ran it; an example was committed to huggingface/AIEnergyScore as
results/benchmark_report.json), AIEnergyScore's ``summarize_gpu_wh.py`` (GPU_ENERGY_WH.txt,
GPU_ENERGY_SUMMARY.json) and its ``results_aggregator.py`` columns (master_results.csv).
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from wattprint.report import aienergyscore as aes
from wattprint.store.record import RunRecord

KWH = 3.6e6
# a realistic energy_star report of a text-generation job, in the published shape (values invented)
REFERENCE = {
    "prefill": {"memory": None, "latency": None, "throughput": None,
                "energy": {"unit": "kWh", "cpu": 0.0042, "ram": 7.9e-05, "gpu": 0.072, "total": 0.0763},
                "efficiency": {"unit": "tokens/kWh", "value": 4.7e6},
                "measures": [{"unit": "kWh", "cpu": 0.0047, "ram": 8.8e-05, "gpu": 0.0798, "total": 0.0846}]},
    "decode": {"memory": None, "latency": None, "throughput": None,
               "energy": {"unit": "kWh", "cpu": 0.0047, "ram": 8.6e-05, "gpu": 0.0615, "total": 0.0663},
               "efficiency": {"unit": "tokens/kWh", "value": 1.36e5},
               "measures": [{"unit": "kWh", "cpu": 0.0052, "ram": 9.6e-05, "gpu": 0.0686, "total": 0.0738}]},
    "per_token": {"memory": None, "latency": None, "throughput": None, "energy": None, "efficiency": None,
                  "measures": None},
    "preprocess": {"memory": None, "latency": None, "throughput": None,
                   "energy": {"unit": "kWh", "cpu": 1.5e-05, "ram": 1.8e-07, "gpu": 0.000164, "total": 0.000179},
                   "efficiency": {"unit": "samples/kWh", "value": 5.6e6}, "measures": None},
}


def summarize_like_aienergyscore(report: dict) -> dict:
    """summarize_gpu_wh.py's rule, restated: every top-level phase with energy.gpu > 0, kWh -> Wh, summed,
    rounded to 2 decimals; one "<phase>_wh" entry per phase."""
    phases = {k: v["energy"]["gpu"] * 1000.0 for k, v in report.items()
              if isinstance(v, dict) and isinstance(v.get("energy"), dict) and (v["energy"].get("gpu") or 0) > 0}
    out = {"units": "Wh", "total": round(sum(phases.values()) + 1e-12, 2)}
    out.update({f"{k}_wh": round(v, 2) for k, v in sorted(phases.items())})
    return out


def record(repeat: int, *, task="text-generation", gen=True, window_gpu=1800.0, prefill_gpu=600.0) -> RunRecord:
    r = RunRecord(task=task, model="distilgpt2", preset="aienergyscore", repeat=repeat, status="finished",
                  dataset="wikitext", samples=1000, inferences=1000, weights="random", workload="synthetic",
                  workload_description="synthetic prompts", parameters=81_912_576, started_at=1.7e9,
                  finished_at=1.7e9 + 60, duration_s=30.0 + repeat, settings={"score": "gpu", "preprocess": "phase"})
    r.gpu_energy_j, r.cpu_energy_j, r.ram_energy_j = window_gpu + 36 * repeat, 360.0, 36.0
    r.energy_j = r.gpu_energy_j + r.cpu_energy_j + r.ram_energy_j
    r.components = [{"kind": "gpu", "method": "counter"}, {"kind": "cpu", "method": "estimated"}]
    r.preprocess_energy_j, r.preprocess_gpu_energy_j = 1000.0, 720.0
    r.preprocess_cpu_energy_j, r.preprocess_ram_energy_j, r.preprocess_duration_s = 250.0, 30.0, 9.0
    if gen:
        r.phases = {"prefill": prefill_gpu + 100.0, "decode": window_gpu - prefill_gpu + 200.0}
        r.phase_durations = {"prefill": 10.0, "decode": 19.0}
        r.phase_energy_by_kind = {"prefill": {"gpu": prefill_gpu, "cpu": 90.0, "ram": 10.0}}
        r.input_tokens, r.generated_tokens = 120_000, 10_000
    r.environment = {"gpus": [{"name": "NVIDIA H200"}]}
    return r


def shape(node):
    """The field names of a report, recursively (lists by their first element)."""
    if isinstance(node, dict):
        return {k: shape(v) for k, v in node.items()}
    if isinstance(node, list):
        return [shape(node[0])] if node else []
    return None


def test_generation_report_has_the_published_fields_and_sums():
    runs = [record(0), record(1)]
    (job,) = aes.jobs(runs)
    report = aes.benchmark_report(job)
    assert set(report) == set(REFERENCE)
    for phase in REFERENCE:
        assert shape(report[phase]) == shape(REFERENCE[phase]) or phase == "preprocess"
    assert shape(report["preprocess"]) == shape(REFERENCE["preprocess"])
    # energy: the mean over repeats, kWh; prefill + decode = the inference window of each repeat
    window_gpu = (1800.0 + 1836.0) / 2
    assert report["prefill"]["energy"]["gpu"] == pytest.approx(600.0 / KWH)
    assert report["prefill"]["energy"]["gpu"] + report["decode"]["energy"]["gpu"] == pytest.approx(window_gpu / KWH)
    assert [m["gpu"] for m in report["decode"]["measures"]] == pytest.approx([1200.0 / KWH, 1236.0 / KWH])
    e = report["decode"]["energy"]
    assert e["total"] == pytest.approx(e["cpu"] + e["ram"] + e["gpu"])
    assert report["preprocess"]["energy"]["gpu"] == pytest.approx(720.0 / KWH)
    assert report["prefill"]["efficiency"]["value"] == pytest.approx(120_000 / report["prefill"]["energy"]["total"])
    assert report["decode"]["efficiency"]["value"] == pytest.approx(9_000 / report["decode"]["energy"]["total"])
    # the summarizer's total is the protocol's score: preprocess + prefill + decode GPU energy
    summary = aes.gpu_energy_summary(report)
    assert summary == summarize_like_aienergyscore(report)
    assert summary["total"] == round((720.0 + window_gpu) / 3600.0 + 1e-12, 2)
    assert set(summary) == {"units", "total", "decode_wh", "prefill_wh", "preprocess_wh"}
    assert summarize_like_aienergyscore(REFERENCE)["total"] == round((0.072 + 0.0615 + 0.000164) * 1000, 2)


def test_encoder_task_has_forward_and_diffusion_has_call():
    cls = record(0, task="image-classification", gen=False)
    assert set(aes.benchmark_report(aes.jobs([cls])[0])) == {"preprocess", "forward"}
    img = record(0, task="image-generation", gen=False)
    img.images = 1000
    report = aes.benchmark_report(aes.jobs([img])[0])
    assert set(report) == {"preprocess", "call"} and report["call"]["efficiency"]["unit"] == "images/kWh"


def test_master_results_csv_columns_and_figures():
    runs = [record(0), record(1)]
    rows = list(csv.DictReader(io.StringIO(aes.to_csv(runs))))
    assert tuple(rows[0]) == aes.CSV_COLUMNS and len(rows) == 1
    row = rows[0]
    gpu_wh = ((720 + 1800) + (720 + 1836)) / 2 / 3600
    assert float(row["gpu_energy_wh"]) == pytest.approx(gpu_wh, abs=1e-4)
    assert float(row["wh_per_1000_queries"]) == pytest.approx(gpu_wh, abs=1e-4)  # 1,000 queries
    assert (row["model_class"], row["task"], row["total_completion_tokens"]) == ("A", "text_gen", "10000")
    assert row["model_name"] == "distilbert/distilgpt2"  # the leaderboard names models by hub id


def test_submission_folder_and_provenance(tmp_path):
    runs = [record(0), record(1)]
    paths = aes.write_submission(runs, tmp_path)
    folder = tmp_path / "text-generation" / "distilgpt2" / "wikitext"
    assert {p.name for p in paths} == {"benchmark_report.json", "GPU_ENERGY_SUMMARY.json", "GPU_ENERGY_WH.txt",
                                       "wattprint_provenance.json", "master_results.csv"}
    summary = json.loads((folder / "GPU_ENERGY_SUMMARY.json").read_text())
    assert (folder / "GPU_ENERGY_WH.txt").read_text() == f"{summary['total']:.2f}\n"
    prov = json.loads((folder / "wattprint_provenance.json").read_text())
    assert prov["comparable_with_leaderboard"] is False
    assert any("H200" in c for c in prov["caveats"]) and any("random" in c for c in prov["caveats"])
    assert prov["score_wh_per_1000"] == pytest.approx(((720 + 1800) + (720 + 1836)) / 2 / 3600)


def test_no_aienergyscore_run_is_one_clear_error(tmp_path):
    from wattprint.core.errors import ConfigError

    other = record(0)
    other.settings = {"score": "total", "preprocess": "inline"}
    with pytest.raises(ConfigError, match="no finished aienergyscore run") as e:
        aes.write_submission([other], tmp_path / "out")
    assert "wattprint bench --preset aienergyscore" in e.value.fix and not (tmp_path / "out").exists()


def test_report_cli_writes_the_folder(tmp_path):
    from wattprint.cli.main import main
    from wattprint.store.sqlite import Store

    with Store(tmp_path / "w.db") as store:
        for r in (record(0), record(1)):
            r.status = "running"
            store.start(r)
            r.status = "finished"
            store.finish(r)
    out = tmp_path / "sub"
    assert main(["report", "--store", str(tmp_path / "w.db"), "--format", "aienergyscore", "-o", str(out)]) == 0
    assert (out / "master_results.csv").is_file()
    assert (out / "text-generation" / "distilgpt2" / "wikitext" / "benchmark_report.json").is_file()


def test_provenance_names_inputs_kept_in_memory_and_not_the_protocols_arrow_reads():
    from wattprint.bench.arrow_inputs import ARROW_NOTE

    in_memory = aes.provenance(aes.jobs([record(0)])[0])
    assert any(c.startswith("inputs kept in memory") for c in in_memory["caveats"])
    arrow = [record(0), record(1)]
    for r in arrow:
        r.settings = {"score": "gpu", "preprocess": "arrow"}
        r.warnings = [ARROW_NOTE]
    prov = aes.provenance(aes.jobs(arrow)[0])
    assert not any(c.startswith("inputs kept in memory") for c in prov["caveats"]) and ARROW_NOTE not in prov["caveats"]
    for r in arrow:  # the datasets extra missing: the reads are not measured, and the caveat says so
        r.warnings = ["preprocess: the datasets library is not installed (...)"]
    assert "preprocess: the datasets library is not installed (...)" in aes.provenance(aes.jobs(arrow)[0])["caveats"]
