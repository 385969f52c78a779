"""The SQLite store on a real file: schema version, start/finish, commits, recovery of dead runs, export."""

import csv
import json
import sqlite3
import subprocess
import sys

import pytest

from wattprint.core.errors import ConfigError
from wattprint.store.export import export, flatten
from wattprint.store.record import RunRecord
from wattprint.store.schema import SCHEMA_VERSION
from wattprint.store.sqlite import Store


def _record(repeat=0, key="k0", **kw):
    return RunRecord(task="text-classification", model="tiny", preset="quick", repeat=repeat, plan_key=key,
                     started_at=1000.0 + repeat, **kw)


def test_schema_version_and_wal(tmp_path):
    path = tmp_path / "w.db"
    with Store(path) as s:
        assert s.meta()["schema_version"] == str(SCHEMA_VERSION)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(SCHEMA_VERSION)


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "w.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(ConfigError, match="schema version 99"):
        Store(path)


def test_not_a_database(tmp_path):
    path = tmp_path / "w.db"
    path.write_text("this is not sqlite" * 100)
    with pytest.raises(ConfigError, match="not an SQLite file"):
        Store(path)


def test_start_then_finish_is_visible_to_another_connection_at_once(tmp_path):
    path = tmp_path / "w.db"
    with Store(path) as s:
        r = _record(energy_j=12.5, wh_per_1000=3.47)
        s.start(r)
        other = sqlite3.connect(path)
        assert other.execute("SELECT status FROM runs").fetchall() == [("running",)]
        r.status = "finished"
        s.finish(r)
        assert other.execute("SELECT status, energy_j, wh_per_1000 FROM runs").fetchall() == [("finished", 12.5, 3.47)]
        back = s.runs()[0]
        assert back.energy_j == 12.5 and back.finished_at is not None
        assert s.done_keys() == {"k0"}


def test_filters_and_statuses(tmp_path):
    with Store(tmp_path / "w.db") as s:
        for i, status in enumerate(("finished", "failed", "finished")):
            r = _record(i, f"k{i}")
            s.start(r)
            r.status = status
            r.error = "OutOfMemoryError: boom" if status == "failed" else None
            s.finish(r)
        s.add(_record(3, "k3", origin="codecarbon", status="finished"))
        assert [r.repeat for r in s.runs()] == [0, 2, 3]
        assert [r.error for r in s.runs(status="failed")] == ["OutOfMemoryError: boom"]
        assert len(s.runs(status=None)) == 4
        assert [r.repeat for r in s.runs(origin="codecarbon")] == [3]
        assert s.runs(model="other") == []
        assert s.done_keys() == {"k0", "k2", "k3"}
        assert s.counts() == {"finished": 3, "failed": 1}


def test_running_rows_of_a_dead_process_become_aborted(tmp_path):
    path = tmp_path / "w.db"
    code = (
        "import sys; from wattprint.store.sqlite import Store; from wattprint.store.record import RunRecord\n"
        f"s = Store({str(path)!r})\n"
        "s.start(RunRecord(task='t', model='m', preset='p', repeat=0, plan_key='kx', started_at=1.0))\n"
        "import os; os._exit(0)\n"  # dies without finishing the run
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    with Store(path) as s:
        assert s.recovered == 1
        (r,) = s.runs(status="aborted")
        assert r.plan_key == "kx" and "ended before the run finished" in r.error
        assert s.done_keys() == set()


def test_own_running_rows_are_left_alone(tmp_path):
    path = tmp_path / "w.db"
    with Store(path) as s:
        s.start(_record())
        with Store(path) as second:  # same process, still alive: its run may still be going
            assert second.recovered == 0
        assert s.mark_running_aborted("forced", only_dead=False) == 1
        assert s.runs(status="aborted")[0].error == "aborted: forced"


def test_export_csv_json_parquet(tmp_path):
    recs = [_record(0, "a", energy_j=3.6, status="finished", phases={"prefill": 1.0, "decode": 2.0},
                    settings={"samples": None, "dtype": "float32"}, components=[{"kind": "cpu", "energy_j": 3.6}]),
            _record(1, "b", energy_j=7.2, status="finished", settings={"samples": 5, "dtype": "float32"})]
    assert export(recs, tmp_path / "r.csv") == 2
    rows = list(csv.DictReader((tmp_path / "r.csv").open()))
    assert [float(r["energy_j"]) for r in rows] == [3.6, 7.2]
    assert rows[0]["phases.prefill"] == "1.0" and rows[1]["phases.prefill"] == ""
    assert json.loads(rows[0]["components"])[0]["kind"] == "cpu"
    export(recs, tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text())
    assert data[1]["settings"]["samples"] == 5 and data[0]["phases"]["decode"] == 2.0
    pq = pytest.importorskip("pyarrow.parquet")
    export(recs, tmp_path / "r.parquet")
    table = pq.read_table(tmp_path / "r.parquet")
    assert table.column("energy_j").to_pylist() == [3.6, 7.2]
    assert table.column("settings.samples").to_pylist() == [None, 5]


def test_export_format_errors(tmp_path):
    with pytest.raises(ConfigError, match="--format"):
        export([], tmp_path / "r.xlsx")
    assert flatten(_record())["task"] == "text-classification"


def test_parquet_without_pyarrow_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow now raises ImportError
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ConfigError, match="needs pyarrow") as e:
        export([_record()], tmp_path / "r.parquet")
    assert "wattprint[parquet]" in e.value.fix
