"""benchmarks/aienergyscore_gap.py caption: GIT's captions of exactly 100 new tokens, and how often its image
encoder ran for each (once with this transformers, which drops the pixels after the prefill)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import aienergyscore_gap as gap  # noqa: E402


@pytest.mark.slow
def test_a_caption_pass_counts_the_new_tokens_and_the_image_encoders_runs(tmp_path, monkeypatch):
    pytest.importorskip("transformers")
    monkeypatch.setenv("GAP_SMOKE", "1")  # the CPU, 2 images, one pass
    out = tmp_path / "caption.json"
    gap.main(["caption", "--model", "git-base", "--json", str(out)])
    doc = json.loads(out.read_text())
    assert doc["part"] == "caption" and doc["model"] == "git-base" and doc["weights"] == "random"
    assert doc["generated_new_tokens"] == gap.CAPTION_TOKENS == 100
    assert doc["encoder_runs_per_caption"] == 1.0  # transformers 5: the pixels go to the prefill only
    (window,) = [p for p in doc["phases"] if p["phase"].startswith("generate (transformers ")]
    assert window["inputs"] == 2 and window["seconds"] > 0 and window["gpu_j"] is None  # no GPU here


def test_a_window_may_lower_its_count_of_inputs():
    phases = gap.Phases("cpu")
    with phases.measure("generate", 50) as window:
        window["inputs"] = 7
    assert phases.rows[-1]["inputs"] == 7
