"""`wattprint bench` and `wattprint export`: clear errors, the final table, and runs killed mid-way."""

from __future__ import annotations

import csv
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from tiny import TINY_BERT, tiny_model  # noqa: E402

from wattprint.cli.main import main  # noqa: E402
from wattprint.store.sqlite import Store  # noqa: E402


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    return tiny_model(tmp_path_factory.mktemp("models"), "bert", TINY_BERT)


def test_unknown_task_is_one_line_with_close_matches(tmp_path, capsys):
    assert main(["bench", "--task", "text-clasification", "--store", str(tmp_path / "w.db")]) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[0] == ("wattprint: error: unknown task 'text-clasification'; did you mean "
                                   "'text-classification', 'token-classification', 'image-classification'?")
    assert "Traceback" not in err


def test_unknown_model_suggests_catalog_names(tmp_path, capsys):
    assert main(["bench", "--model", "distilbert-sst", "--store", str(tmp_path / "w.db")]) == 2
    err = capsys.readouterr().err
    assert "unknown model 'distilbert-sst'; did you mean" in err and "distilbert-sst2" in err


def test_model_of_another_task_is_refused(tmp_path, capsys):
    assert main(["bench", "--task", "text-generation", "--model", "distilbert-sst2",
                 "--store", str(tmp_path / "w.db")]) == 2
    assert "serves text-classification" in capsys.readouterr().err


@pytest.mark.slow
def test_bench_prints_the_table_and_export_writes_every_run(bert, tmp_path, capsys):
    db, out = tmp_path / "w.db", tmp_path / "runs.csv"
    args = ["bench", "--task", "text-classification", "--model", bert, "--weights", "random", "--samples", "4",
            "--repeats", "2", "--idle-seconds", "0", "--store", str(db), "--no-progress", "--country", "FR"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "text-classification" in text and "Wh/1k (mean ± std)" in text and "phone charges/1k" in text
    row = next(line for line in text.splitlines() if line.strip().startswith(bert))
    assert " ± " in row and "random" in row and "synthetic" in row
    assert main(["export", "--store", str(db), "-o", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 2 and {r["status"] for r in rows} == {"finished"}
    assert all(r["emissions"] and '"zone": "FR"' in r["emissions"] for r in rows)
    # --resume: nothing left to do, the table still shows the two repeats
    assert main([*args, "--resume"]) == 0
    assert Store(db).counts() == {"finished": 2}


def _bench(bert: str, db: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "wattprint", "bench", "--task", "text-classification", "--model", bert,
           "--weights", "random", "--samples", "4", "--repeats", "500", "--idle-seconds", "0", "--store", str(db),
           "--no-progress"]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_finished(db: Path, proc: subprocess.Popen, n: int = 2, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        if db.exists():
            try:
                done = sqlite3.connect(db).execute("SELECT COUNT(*) FROM runs WHERE status='finished'").fetchone()[0]
            except sqlite3.OperationalError:  # the schema is being created
                done = 0
            if done >= n:
                return
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("the benchmark did not finish a repeat in time")


@pytest.mark.slow
def test_ctrl_c_keeps_finished_runs_and_marks_the_running_one_aborted(bert, tmp_path):
    db = tmp_path / "w.db"
    proc = _bench(bert, db)
    _wait_for_finished(db, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    with Store(db) as store:
        assert store.recovered == 0  # the process marked its own run
        counts = store.counts()
        # the signal lands inside a repeat (marked aborted) or, rarely, in the instant between two
        assert counts["finished"] >= 2 and counts.get("aborted", 0) <= 1 and "running" not in counts
        assert sorted(r.repeat for r in store.runs(status=None)) == list(range(sum(counts.values())))
        for aborted in store.runs(status="aborted"):
            assert aborted.error == "aborted: interrupted (KeyboardInterrupt)"
            assert aborted.repeat == counts["finished"]
        assert all(r.energy_j > 0 and r.inferences == 4 for r in store.runs())


@pytest.mark.slow
def test_sigkill_keeps_finished_runs_and_the_next_open_marks_the_running_one_aborted(bert, tmp_path):
    db = tmp_path / "w.db"
    proc = _bench(bert, db)
    _wait_for_finished(db, proc)
    proc.kill()
    proc.wait(timeout=30)
    with Store(db) as store:
        counts = store.counts()
        assert counts["finished"] >= 2
        assert store.recovered == counts.get("aborted", 0) <= 1  # killed inside a repeat or between two
        assert "running" not in counts
        for r in store.runs(status="aborted"):
            assert "ended before the run finished" in r.error
    # --resume picks up where it stopped: with one repeat more than finished, exactly one more runs
    done = counts["finished"]
    assert main(["bench", "--task", "text-classification", "--model", bert, "--weights", "random", "--samples", "4",
                 "--repeats", str(done + 1), "--idle-seconds", "0", "--store", str(db), "--no-progress",
                 "--resume"]) == 0
    with Store(db) as store:
        assert store.counts()["finished"] == done + 1
        assert sorted(r.repeat for r in store.runs()) == list(range(done + 1))


def test_live_intensity_without_a_key_is_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("ELECTRICITYMAPS_API_KEY", raising=False)
    assert main(["bench", "--task", "text-classification", "--live", "--country", "FR",
                 "--store", str(tmp_path / "w.db")]) == 2
    assert "no Electricity Maps API key" in capsys.readouterr().err
    assert not (tmp_path / "w.db").exists()  # nothing ran
