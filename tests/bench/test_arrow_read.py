"""benchmarks/arrow_read.py: the read of a prepared input back from Arrow, for any image task's model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import arrow_read  # noqa: E402


def test_first_tensor_finds_the_pixels_inside_a_detectors_batch():
    torch = pytest.importorskip("torch")
    pixels = torch.zeros(1, 3, 8, 8)
    assert arrow_read._first_tensor(pixels) is pixels
    batch = ({"pixel_mask": torch.ones(1, 8, 8), "pixel_values": pixels}, [(8, 8)])
    assert arrow_read._first_tensor(batch) is pixels  # the pixels, wherever the mask sits
    assert arrow_read._first_tensor(([(8, 8)], "no tensor")) is None


def test_a_text_model_is_refused_in_one_line_naming_the_image_tasks():
    with pytest.raises(SystemExit) as e:
        arrow_read._load("distilbert-sst2", "cpu")
    assert "text-classification" in str(e.value) and "object-detection" in str(e.value)


@pytest.mark.slow
def test_a_detectors_rows_are_read_back_and_timed(monkeypatch):
    pytest.importorskip("datasets")
    args = argparse.Namespace(device="cpu", model="yolos-tiny", rows=2, alt_site="/nonexistent", rows_file=None)
    out = arrow_read.measure(args)
    names = [v["variant"] for v in out]
    assert names[0] == "read (the job's rows: batch of 1)"
    assert not any("batch dimension" in n for n in names)  # a (batch, sizes) tuple has no plain pixel rows
    assert all(v["wall_ms"] > 0 and v["shape"][:2] == [1, 3] for v in out)
