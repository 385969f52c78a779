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


def _caption_doc(version: str, joules: float, seconds: float, runs: float) -> dict:
    return {"part": "caption", "model": "git-base", "gpu": "NVIDIA H200", "new_tokens": 100,
            "encoder_runs_per_caption": runs, "generated_new_tokens": 100,
            "versions": {"python": "3.12", "torch": "2.11.0", "transformers": version, "datasets": None,
                         "pyarrow": None},
            "phases": [{"phase": "idle", "inputs": 0, "seconds": 5.0, "gpu_j": 600.0},
                       {"phase": f"generate (transformers {version})", "inputs": 20, "seconds": seconds,
                        "gpu_j": joules, "iteration": 0}]}


def test_caption_parts_join_the_phases_file_beside_the_rows_kept_for_other_models(tmp_path):
    import csv
    import json
    import shutil

    paths = []
    for name, doc in (("new", _caption_doc("5.17.0", 1800.0, 13.0, 1.0)), ("old", _caption_doc("4.44.0", 9000.0,
                                                                                                 60.0, 100.0))):
        paths.append(str(tmp_path / f"caption-{name}.json"))
        (tmp_path / f"caption-{name}.json").write_text(json.dumps(doc))
    out = tmp_path / "phases.csv"
    shutil.copy(ROOT / "benchmarks" / "data" / "aienergyscore_phases.csv", out)
    before = list(csv.DictReader(open(out, newline="")))
    gt.write_csv(paths, str(out), source="caption run", keep_others=True)
    after = list(csv.DictReader(open(out, newline="")))
    assert after[:len(before)] == before  # the other models' rows, with their own source
    new = {r["phase"]: r for r in after[len(before):]}
    assert set(new) == {"generate (transformers 5.17.0)", "generate (transformers 4.44.0)"}
    old = new["generate (transformers 4.44.0)"]
    # only the leaderboard's transformers counts towards the protocol re-enacted; 9,000 J over 20 captions
    assert old["in_protocol_sum"] == "yes" and new["generate (transformers 5.17.0)"]["in_protocol_sum"] == "no"
    assert float(old["gpu_wh_per_1000"]) == pytest.approx(9000 / 3600 / 20 * 1000, rel=1e-3)
    assert float(old["ms_per_new_token"]) == pytest.approx(60.0 / 2000 * 1000, rel=1e-3)
    assert old["source"] == "caption run"
    gt.write_csv(paths, str(out), source="caption run")  # without keep_others: these parts alone
    assert {r["model"] for r in csv.DictReader(open(out, newline=""))} == {"git-base"}
    text = gt.table(paths)
    assert "caption-old.json: the image encoder ran 100 times per caption of 100 new tokens" in text
    assert "git-base | generate (transformers 4.44.0) | 20 x 1 | 125 | 3e+03 ms/input, 30 ms/new token | 150 |" in text
