"""Runs stored when new tokens, steps, image size and the safety checker were top-level settings read back with
them in ``params`` (one migration, on reading), and report exactly as before."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from wattprint.store.record import LEGACY_PARAMS, RunRecord, migrate_settings
from wattprint.store.sqlite import Store

ROOT = Path(__file__).resolve().parents[2]

# the settings of a paper image-generation run as the runner wrote them before task parameters were declared
OLD = {"samples": 1000, "repeats": 10, "batch_size": 1, "dtype": "float32", "device": "cuda", "seed": 0,
       "max_new_tokens": None, "min_new_tokens": None, "num_inference_steps": None, "height": None, "width": None,
       "guidance_scale": None, "mask_tokens": None, "safety_checker": True, "preprocess": "inline",
       "params": {"prompt_words": 50}}


def test_old_keys_move_into_params():
    new = migrate_settings(OLD)
    assert not set(LEGACY_PARAMS) & set(new)
    assert new["params"] == {"safety_checker": True, "prompt_words": 50}  # unset (None) ones are left out
    assert {k: v for k, v in new.items() if k != "params"} == {
        k: v for k, v in OLD.items() if k not in LEGACY_PARAMS and k != "params"}
    assert migrate_settings(new) == new  # a settings dict of today passes unchanged
    text_gen = migrate_settings({"max_new_tokens": 10, "min_new_tokens": 10, "safety_checker": False})
    assert text_gen == {"params": {"max_new_tokens": 10, "min_new_tokens": 10}}  # false is the checker's default
    assert migrate_settings({"max_new_tokens": 5, "params": {"max_new_tokens": 7}})["params"] == {"max_new_tokens": 7}


def test_an_old_record_in_an_old_store_reads_migrated(tmp_path):
    record = RunRecord(task="image-generation", model="sd-1.5", preset="paper", repeat=0, status="finished",
                       energy_j=3600.0, inferences=10, safety_checker=True)
    path = tmp_path / "old.db"
    with Store(path) as s:
        s.add(record)
    old = {**record.to_dict(), "settings": OLD}  # the blob as an older wattprint wrote it
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE runs SET record = ? WHERE run_id = ?", (json.dumps(old), record.run_id))
    with Store(path) as s:
        (back,) = s.runs(status=None)
    assert back.settings == migrate_settings(OLD) and back.safety_checker is True
    assert RunRecord.from_dict(old).settings == back.settings


def test_a_published_export_loads_migrated_and_reports_as_before():
    """benchmarks/results/h200-runs.csv.gz was written with the old settings columns (settings.max_new_tokens...)."""
    from wattprint.report.exported import load_export
    from wattprint.report.formats import ReportOptions, render

    path = ROOT / "benchmarks" / "results" / "h200-runs.csv.gz"
    if not path.is_file():
        pytest.skip("the archived H200 runs are not in this checkout")
    records = load_export(path)
    assert records and all(not set(LEGACY_PARAMS) & set(r.settings) for r in records)
    steps = {(r.preset, r.settings.get("params", {}).get("num_inference_steps"))
             for r in records if r.task == "image-generation"}
    assert steps == {("aienergyscore", 30), ("paper", None)}  # 30 steps, now a task parameter; paper: the model's
    tokens = {(r.settings["params"].get("min_new_tokens"), r.settings["params"]["max_new_tokens"])
              for r in records if r.task == "text-generation"}
    # migrated records keep the old pair; records written since (text generation takes no minimum) have the cap
    assert tokens == {(10, 10), (None, 10)}
    # the same records with their settings as stored (no migration) give the same report, byte for byte
    def md() -> str:  # the report's "generated" minute left out: two renders can straddle a minute
        return re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", "<generated>", render("md", records, ReportOptions()))

    migrated = md()
    for r in records:
        r.settings = {**r.settings.pop("params", {}), **r.settings}
    assert md() == migrated
