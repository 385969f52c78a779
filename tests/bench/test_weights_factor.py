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
                           gpu_energy_j=gpu_j, model_source=f"{weights}:folder", device="cuda")


def test_each_round_gives_one_ratio_and_the_rounds_their_mean_and_interval():
    arms = {"random": [_rec("random", 1.0), _rec("random", 2.0)],
            "pretrained": [_rec("pretrained", 1.1), _rec("pretrained", 2.0)]}
    s = wf.summarize(arms, 100)
    assert s["ratios"] == pytest.approx([1.1, 1.0]) and s["ratio_mean"] == pytest.approx(1.05)
    assert s["ratio_ci95"] == pytest.approx(12.706 * 0.05)  # t(1) x sd 0.0707 / sqrt(2)
    assert s["basis"] == "gpu" and s["arms"]["random"]["gpu_w"] == pytest.approx(100.0)
    text = wf.report(s)
    assert "trained over random: x1.050 ± 0.635" in text and "100 inputs a repeat, 2 rounds" in text


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
