"""Flags that contradict each other, or that the command would ignore, are refused in one line with the fix,
before any work, instead of one of them being dropped silently."""

from __future__ import annotations

import json

import pytest
from cli_helpers import assert_one_error


# ---- export -------------------------------------------------------------------------------------
def test_export_format_that_contradicts_the_file_name_is_refused(cli, store_path, tmp_path):
    out = tmp_path / "out.csv"
    code, out_text, err = cli("export", "--store", str(store_path), "-o", str(out), "--format", "parquet")
    assert_one_error(code, err, f"--format parquet contradicts -o {out} (a .csv file name)",
                     "fix: drop --format to write csv, or name the file *.parquet")
    assert out_text == "" and not out.exists()


def test_export_format_may_name_a_file_without_a_known_suffix(cli, store_path, tmp_path):
    out = tmp_path / "runs.txt"
    code, _, err = cli("export", "--store", str(store_path), "-o", str(out), "--format", "json")
    assert code == 0, err
    assert json.loads(out.read_text())


# ---- breakeven ----------------------------------------------------------------------------------
def test_breakeven_takes_one_inference_figure(cli):
    code, out, err = cli("breakeven", "--training-kwh", "5", "--kwh-per-inference", "1", "--wh-per-1000", "3")
    assert_one_error(code, err, "argument --wh-per-1000: not allowed with argument --kwh-per-inference",
                     "fix: give only one of the two")
    assert out == ""


# ---- carbon -------------------------------------------------------------------------------------
def test_carbon_window_backwards_is_refused(cli):
    code, out, err = cli("carbon", "--kwh", "1", "--country", "FR", "--live", "--start", "2026-01-02T00:00Z",
                         "--end", "2026-01-01T00:00Z")
    assert_one_error(code, err, "--end 2026-01-01T00:00Z is before --start 2026-01-02T00:00Z", "fix: swap them")
    assert out == ""


def test_carbon_window_without_live_is_refused_not_ignored(cli, monkeypatch):
    monkeypatch.delenv("WATTPRINT_LIVE", raising=False)
    code, out, err = cli("carbon", "--kwh", "1", "--country", "FR", "--start", "2026-01-01T00:00Z",
                         "--end", "2026-01-01T01:00Z")
    assert_one_error(code, err, "--start/--end choose the hours of live intensity, and live intensity is off",
                     "fix: add --live")
    assert out == ""


# ---- bench --------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv, said, fix", [
    (["--time-budget", "5", "--samples", "3"],
     "--time-budget only applies when samples is auto, and --samples 3 fixes the count", "add --samples auto"),
    (["--time-budget", "5", "--preset", "paper", "--task", "text-classification"],
     "--time-budget only applies when samples is auto, and preset paper sets samples = 1000", "add --samples auto"),
    (["--dataset", "imdb", "--datasets", "2"], "argument --datasets: not allowed with argument --dataset",
     "give only one of the two"),
    (["--datasets", "99", "--task", "text-classification"],
     "--datasets 99: the selected tasks have at most 4 standard datasets", "pass --datasets 4 or fewer"),
    (["--datasets", "2", "--preset", "paper", "--task", "text-classification"],
     "--datasets 2: preset paper names its datasets (imdb, rotten_tomatoes, sst2)", "pick them with --dataset NAME"),
])
def test_bench_refuses_a_flag_it_would_ignore(cli, tmp_path, argv, said, fix):
    db = tmp_path / "w.db"
    code, out, err = cli("bench", "--store", str(db), *argv)
    assert_one_error(code, err, said, f"fix: {fix}")
    assert out == "" and not db.exists()


# ---- card ---------------------------------------------------------------------------------------
@pytest.fixture
def model_dir(tmp_path):
    d = tmp_path / "tiny-bert"
    d.mkdir()
    (d / "config.json").write_text("{}")
    return d


def test_card_training_type_without_a_measurement_is_refused(cli, model_dir, store_path):
    code, _, err = cli("card", str(model_dir), "--store", str(store_path), "--model", "distilbert-sst2",
                       "--training-type", "fine-tuning")
    assert_one_error(code, err, "--training-type describes a measurement, and none was given",
                     "fix: add --measurement FILE")
    assert not (model_dir / "README.md").exists()


def test_card_training_type_and_inferences_exclude_each_other(cli, model_dir, tmp_path):
    m = tmp_path / "m.json"
    m.write_text("{}")
    code, _, err = cli("card", str(model_dir), "--measurement", str(m), "--inferences", "4",
                       "--training-type", "fine-tuning")
    assert_one_error(code, err, "--training-type and --inferences exclude each other",
                     "fix: keep --training-type for a training run, or --inferences N")
    assert not (model_dir / "README.md").exists()
