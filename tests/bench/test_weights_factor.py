"""benchmarks/weights_factor.py: trained against random weights, one model, rounds in alternating order."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import weights_factor as wf  # noqa: E402


def _rec(weights, wh, seconds=2.0, gpu_j=200.0):
    return SimpleNamespace(weights=weights, gpu_wh_per_1000=wh, wh_per_1000=wh * 1.2, duration_s=seconds,
                           gpu_energy_j=gpu_j, model_source=f"{weights}:folder", device="cuda", components=[],
                           environment={})


def test_each_round_gives_one_ratio_and_the_rounds_their_mean_and_interval():
    arms = {"random": [_rec("random", 1.0), _rec("random", 2.0)],
            "pretrained": [_rec("pretrained", 1.1), _rec("pretrained", 2.0)]}
    s = wf.summarize(arms, 100)
    assert s["ratios"] == pytest.approx([1.1, 1.0]) and s["ratio_mean"] == pytest.approx(1.05)
    from wattprint.bench.stats import t_quantile

    assert s["ratio_ci95"] == pytest.approx(t_quantile(0.975, 1) * 0.05)  # t(1) = 12.706, x sd 0.0707 / sqrt(2)
    assert s["basis"] == "gpu" and s["arms"]["random"]["gpu_w"] == pytest.approx(100.0)
    text = wf.report(s)
    assert "trained over random: x1.050 ± 0.635" in text and "100 inputs a repeat, 2 rounds" in text


def test_each_ratio_splits_into_power_and_time_and_the_power_ratio_is_published_when_the_time_holds_1():
    # energy = power x time: round 1 trained drew 2% more power for 1% less time, round 2 the other way round
    arms = {"random": [_rec("random", 1.0, seconds=2.0, gpu_j=200.0), _rec("random", 1.0, seconds=2.0, gpu_j=200.0)],
            "pretrained": [_rec("pretrained", 1.0098, seconds=1.98, gpu_j=1.02 * 100 * 1.98),
                           _rec("pretrained", 1.0098, seconds=2.02, gpu_j=1.0 * 100 * 2.02)]}
    s = wf.summarize(arms, 100)
    power, time = s["split"]["power"], s["split"]["time"]
    assert power["ratios"] == pytest.approx([1.02, 1.0]) and time["ratios"] == pytest.approx([0.99, 1.01])
    ratio, half, what = wf.published(s)
    assert ratio == pytest.approx(1.01) and half == pytest.approx(power["ci95"])
    assert what.startswith("the card's power at the same work") and "time x1.000" in what
    row = wf.factors_row(s, "src")
    assert row.startswith("weights,") and ",1.0100," in row and "power at the same work" in row
    assert "of which power: x1.010" in wf.report(s) and "published: x1.010" in wf.report(s)
    slower = {**s, "split": {**s["split"], "time": {"ratios": [1.2, 1.3], "mean": 1.25, "ci95": 0.1}}}
    assert wf.published(slower) == (s["ratio_mean"], s["ratio_ci95"], "energy")  # the work itself moved: energy


def test_without_a_gpu_the_total_is_compared_and_said():
    cpu = {w: [SimpleNamespace(**{**vars(_rec(w, v)), "gpu_wh_per_1000": None, "gpu_energy_j": 0.0})
               for v in (1.0, 1.0)] for w in ("random", "pretrained")}
    s = wf.summarize(cpu, 10)
    assert s["basis"] == "total (no GPU measured)" and s["ratio_mean"] == pytest.approx(1.0)
    assert s["arms"]["random"]["gpu_w"] is None and "card" not in wf.report(s)


def test_one_round_is_refused_before_anything_runs(capsys):
    assert wf.main(["--rounds", "1", "--device", "cpu"]) == 2
    assert "at least 2" in capsys.readouterr().err


@pytest.mark.slow
def test_pack_keeps_the_tokenizer_and_halves_the_weights(tmp_path):
    out = wf.pack(tmp_path / "m")
    src = Path(wf.package_folder())
    assert (out / "config.json").exists() and (out / "tokenizer.json").exists()
    assert (out / "model.safetensors").stat().st_size < 0.55 * (src / "model.safetensors").stat().st_size


def test_a_result_becomes_the_factors_csv_row_that_reconciliation_reads(tmp_path):
    import csv

    import reconciliation as rc

    arms = {"random": [_rec("random", 1.0, gpu_j=200.0), _rec("random", 2.0, gpu_j=400.0)],  # energy follows wh
            "pretrained": [_rec("pretrained", 1.1, gpu_j=220.0), _rec("pretrained", 2.0, gpu_j=400.0)]}
    for r in arms["random"]:
        r.components = [{"kind": "gpu", "name": "NVIDIA H200", "uuid": "GPU-abcdef123456789"}]
        r.environment = {"git": {"commit": "0123456789abcdef"}}
    s = wf.summarize(arms, 100)
    assert s["card"] == "NVIDIA H200 GPU-abcdef12" and s["commit"] == "0123456789"
    row = wf.factors_row(s, "runs.tar.xz › weights_factor.json")
    path = tmp_path / "factors.csv"
    wf.into(path, row)
    wf.into(path, row)  # again: the weights row is replaced, not doubled; other factors' rows stay
    lines = path.read_text().splitlines(keepends=True)
    assert lines[0] == wf.FACTORS_HEADER and [ln.split(",")[0] for ln in lines[1:]] == ["weights"]
    (factor,) = rc.read_factors(path)
    assert factor["ratio"] == "1.0500" and "sentence-similarity" in factor["tasks"].split(";")
    text = rc.attribution("text-classification", [factor])
    assert text.startswith("weights measured apart: x1.050 ± 0.635, no effect within its 95% interval (how: below)")
    assert text.endswith("; A100 vs H200, software, synthetic inputs not yet")
    assert rc.attribution("image-generation", [factor]) == rc.ATTRIBUTION  # not a text encoder: not claimed
    note = rc.attribution_note([factor])
    assert "Measured apart so far" in note and "interval: all-MiniLM-L6-v2" in note and "runs.tar.xz" in note
    assert rc.attribution_note([]) == rc.ATTRIBUTION_NOTE
    assert "no effect" not in rc._factor({"ratio": "1.3", "ci95": "0.2"})  # an interval without 1: an effect
    assert list(csv.reader([row]))[0][0] == "weights"


def test_a_json_that_is_not_a_result_is_refused_in_one_line(tmp_path, capsys):
    bad = tmp_path / "other.json"
    bad.write_text("{}")
    assert wf.main(["--factors-row", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "fix: give the --json file" in err
