"""benchmarks/aienergyscore_gap_table.py on the archived H200 run: the table and the phases file it was made into."""

from __future__ import annotations

import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import aienergyscore_gap_table as gt  # noqa: E402

ARCHIVE = ROOT / "benchmarks" / "runs" / "aienergyscore-gap2-h200.tar.xz"
SOURCE = ("benchmarks/runs/aienergyscore-gap2-h200.tar.xz (device_run.sh gap at commit fbae951; NVIDIA H200 "
          "GPU-d33eee87, driver 580.159.04)")
PARTS = ("image", "text-new", "text-old", "text-old-arrow", "preset")  # as device_run.sh gap passes them


def _parts(tmp_path):
    with tarfile.open(ARCHIVE) as tar:
        tar.extractall(tmp_path, filter="data")
    return [str(tmp_path / "aienergyscore-gap2-h200" / f"{p}.json") for p in PARTS]


def test_the_archived_parts_give_the_phases_file_in_the_repository(tmp_path):
    out = tmp_path / "phases.csv"
    gt.write_csv(_parts(tmp_path), str(out), source=SOURCE)
    assert out.read_text() == (ROOT / "benchmarks" / "data" / "aienergyscore_phases.csv").read_text()


def test_the_table_compares_with_the_leaderboards_data_file(tmp_path):
    text = gt.table(_parts(tmp_path))
    board = gt.leaderboard_wh_per_1000()
    assert board["resnet-18"] == pytest.approx(0.299115) and board["distilgpt2"] == pytest.approx(1.313333)
    assert "leaderboard (H100, GPU Wh/1k): resnet-18 0.299, distilgpt2 1.31" in text  # the parts' models only
    assert "score/leaderboard 0.59" in text  # the preset's ResNet-18 score, 0.177, over 0.299
    assert "text-old-arrow.json: not written (the part failed or was cut for time)" in text
