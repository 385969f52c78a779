"""Input that would write files before it is known good: a model folder that is not there, a --store that is empty
or in a missing folder. Each is refused in one line with the fix, and nothing is created."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import assert_one_error

FIXTURE = Path(__file__).parents[1] / "report" / "fixtures" / "codecarbon" / "v3.2.9_emissions.csv"


@pytest.mark.parametrize("model", ["./nonexist_folder", "../nonexist_folder", "/nonexist/folder", "a/b/c"])
def test_bench_refuses_a_model_folder_that_is_not_there_before_the_store_opens(cli, tmp_path, monkeypatch, model):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli("bench", "--model", model, "--task", "text-classification", "--store", "w.db")
    assert_one_error(code, err, f"model folder {model} does not exist")
    assert list(tmp_path.iterdir()) == []  # no store, no failed run recorded


def test_bench_refuses_a_file_given_as_a_model_folder(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "weights.bin").write_text("x")
    code, _, err = cli("bench", "--model", "./weights.bin", "--task", "text-classification", "--store", "w.db")
    assert_one_error(code, err, "model folder ./weights.bin is not a folder")
    assert not (tmp_path / "w.db").exists()


def test_import_refuses_a_store_in_a_missing_folder(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli("import", "codecarbon", str(FIXTURE), "--inferences-per-run", "10", "--store", "nodir/x.db")
    assert_one_error(code, err, "the folder nodir does not exist", "mkdir -p nodir")
    assert list(tmp_path.iterdir()) == []


STORE_COMMANDS = {
    "bench": ["bench", "--task", "text-classification"],
    "export": ["export", "-o", "out.csv"],
    "report": ["report"],
    "compare": ["compare", "--task", "text-classification", "--specific", "a", "--general", "b", "--from-store"],
    "breakeven": ["breakeven", "--training-kwh", "1", "--model", "distilbert-sst2"],
    "card": ["card", "model"],
    "import": ["import", "codecarbon", str(FIXTURE), "--inferences-per-run", "10"],
    "sweep": ["sweep", "plan.toml"],
    "serve-bench": ["serve-bench", "--model", "m", "--url", "http://127.0.0.1:9", "--energy", "none", "--idle", "0"],
    "serve-bench-from-store": ["serve-bench", "--from-store"],
}


@pytest.mark.parametrize("command", sorted(STORE_COMMANDS))
@pytest.mark.parametrize("store", ["", "  "])
def test_an_empty_store_path_is_refused_at_parse_time(cli, tmp_path, monkeypatch, command, store):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(*STORE_COMMANDS[command], "--store", store)
    assert_one_error(code, err, "argument --store: the store path is empty")
    assert list(tmp_path.iterdir()) == []  # no ./wattprint.db, nothing else
