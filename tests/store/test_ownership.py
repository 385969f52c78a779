"""Stores that belong to others: wattprint writes only to files it created or marked, and reads without writing."""

import csv
import math
import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wattprint.cli.main import main
from wattprint.core.errors import ConfigError
from wattprint.store.checks import invalid_reason
from wattprint.store.ownership import APPLICATION_ID, inspect
from wattprint.store.record import RunRecord
from wattprint.store.sqlite import Store

FIXTURE = Path(__file__).parents[1] / "report" / "fixtures" / "codecarbon" / "v3.2.9_emissions.csv"
SWEEP_PLAN = Path(__file__).parents[2] / "examples" / "sweep-quick.toml"


def _record(i=0, model="distilbert-sst2", energy_j=360.0, task="text-classification"):
    return RunRecord(task=task, model=model, preset="quick", repeat=i, plan_key=f"k{model}{i}",
                     status="finished", started_at=1000.0 + i, finished_at=1010.0 + i, inferences=1000,
                     samples=1000, energy_j=energy_j, model_kind="task-specific")


def _snapshot(path):
    """Bytes, mtime and the files beside it: what must not change."""
    st = path.stat()
    beside = sorted(p.name for p in path.parent.iterdir())
    return path.read_bytes(), st.st_mtime_ns, beside


def _other_sqlite(path, application_id=0):
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    conn.execute("INSERT INTO notes (body) VALUES ('not yours')")
    if application_id:
        conn.execute(f"PRAGMA application_id = {application_id}")
    conn.commit()
    conn.close()
    os.utime(path, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    return path


def _commands(store, out):
    s = str(store)
    return {
        "export": ["export", "--store", s, "-o", str(out / "x.csv")],
        "report": ["report", "--store", s, "--format", "json", "-o", str(out / "r.json")],
        "compare": ["compare", "--task", "text-classification", "--specific", "distilbert-sst2", "--general",
                    "flan-t5-small", "--store", s, "--from-store"],
        "breakeven": ["breakeven", "--training-kwh", "1000", "--model", "distilbert-sst2", "--store", s],
        "bench": ["bench", "--task", "text-classification", "--samples", "1", "--repeats", "1", "--idle-seconds",
                  "0", "--no-progress", "--store", s],
        "import": ["import", "codecarbon", str(FIXTURE), "--inferences-per-run", "10", "--store", s],
        "sweep": ["sweep", str(SWEEP_PLAN), "--store", s],
        "serve-bench": ["serve-bench", "--model", "m", "--workload", "fixed:8:8", "--url", "http://127.0.0.1:9",
                        "--energy", "none", "--idle", "0", "--store", s],
        "serve-bench-from-store": ["serve-bench", "--from-store", "--store", s],
    }


@pytest.mark.parametrize("kind", ["sqlite", "sqlite-with-another-app-id", "text", "empty"])
@pytest.mark.parametrize("command", ["export", "report", "compare", "breakeven", "bench", "import", "sweep",
                                     "serve-bench", "serve-bench-from-store"])
def test_every_command_refuses_a_file_that_is_not_ours_and_leaves_it_untouched(tmp_path, capsys, kind, command):
    d = tmp_path / "d"
    d.mkdir()
    target = d / "other.db"
    if kind == "sqlite":
        _other_sqlite(target)
    elif kind == "sqlite-with-another-app-id":
        _other_sqlite(target, application_id=0x0F055112)  # Fossil's id, from SQLite's magic.txt
    else:
        target.write_bytes(b"" if kind == "empty" else b"id,body\n1,not yours\n")
        os.utime(target, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    before = _snapshot(target)
    assert main(_commands(target, tmp_path)[command]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines[0].startswith("wattprint: error: ") and "left untouched" in lines[0]
    assert len(lines) == 2 and lines[1].startswith("  fix: ")
    assert _snapshot(target) == before  # same bytes, same mtime, no -wal, -shm or -journal beside it


def test_a_new_store_is_marked_and_a_legacy_store_is_recognised(tmp_path):
    new = tmp_path / "new.db"
    with Store(new) as s:
        s.add(_record())
    conn = sqlite3.connect(new)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    # a store written before the mark existed: same tables, application_id 0
    conn.execute("PRAGMA application_id = 0")
    conn.commit()
    conn.close()
    assert inspect(new).state == "legacy"
    before = _snapshot(new)
    with Store(new, readonly=True) as s:  # reading recognises it and does not mark it
        assert [r.energy_j for r in s.runs()] == [360.0]
    assert _snapshot(new) == before
    with Store(new) as s:  # the next writer marks it
        s.add(_record(1))
    assert sqlite3.connect(new).execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert inspect(new).state == "ours"


def test_read_only_commands_need_a_store_and_create_none(tmp_path, capsys):
    missing = tmp_path / "none.db"
    for command in ("export", "report", "compare", "breakeven"):
        assert main(_commands(missing, tmp_path)[command]) == 2
        err = capsys.readouterr().err
        assert "no store at" in err
    assert list(tmp_path.iterdir()) == []


def test_a_read_only_store_refuses_writes(tmp_path):
    path = tmp_path / "w.db"
    Store(path).close()
    with Store(path, readonly=True) as s, pytest.raises(RuntimeError, match="read-only"):
        s.add(_record())


def _stored(path):
    with Store(path) as s:
        for i, e in enumerate((360.0, 396.0)):
            s.add(_record(i, energy_j=e))
        s.add(_record(model="flan-t5-small", energy_j=3600.0))
    return path


def _read_only_commands(store, out):
    c = _commands(store, out)
    return [c["export"], c["report"], c["compare"] + ["--json"], c["breakeven"] + ["--json"]]


def test_read_only_commands_change_nothing_on_a_read_only_file(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    db = _stored(folder / "w.db")
    out = tmp_path / "out"
    out.mkdir()
    before = _snapshot(db)
    db.chmod(0o444)
    folder.chmod(0o555)
    try:
        for argv in _read_only_commands(db, out):
            assert main(argv) == 0, argv
    finally:
        folder.chmod(0o755)
    assert _snapshot(db) == before  # no -wal, no -shm, same bytes and mtime (root ignores the modes)
    with (out / "x.csv").open() as f:
        assert sorted(float(r["energy_j"]) for r in csv.DictReader(f)) == [360.0, 396.0, 3600.0]


def _read_only_mount_works():
    if not shutil.which("unshare") or not hasattr(os, "geteuid") or os.geteuid() != 0:
        return False
    with tempfile.TemporaryDirectory() as d:
        probe = f"mount --bind {d} {d} && mount -o remount,bind,ro {d} && ! touch {d}/x 2>/dev/null"
        return subprocess.run(["unshare", "-m", "sh", "-c", probe], capture_output=True).returncode == 0


@pytest.mark.skipif(not _read_only_mount_works(), reason="needs root and unshare to mount a read-only folder")
@pytest.mark.parametrize("writer_open", [False, True])
def test_read_only_commands_work_on_a_read_only_file_system(tmp_path, writer_open):
    """The store's folder bind-mounted read-only (even root cannot write there): every reading command works."""
    folder = tmp_path / "ro"
    folder.mkdir()
    db = _stored(folder / "w.db")
    out = tmp_path / "out"
    out.mkdir()
    writer = Store(db) if writer_open else None  # a bench still running: its -wal and -shm are there
    try:
        before = _snapshot(db)
        src = str(Path(__file__).parents[2] / "src")
        for argv in _read_only_commands(db, out):
            line = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "wattprint", *argv])
            script = f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder} && {line}"
            proc = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True,
                                  timeout=120, env={**os.environ, "PYTHONPATH": src})
            assert proc.returncode == 0, (argv, proc.stderr)
            assert "Traceback" not in proc.stderr
        assert _snapshot(db) == before
    finally:
        if writer:
            writer.close()
    with (out / "x.csv").open() as f:
        assert sorted(float(r["energy_j"]) for r in csv.DictReader(f)) == [360.0, 396.0, 3600.0]


def test_invalid_rows_already_stored_are_skipped_and_listed(tmp_path, capsys):
    db = _stored(tmp_path / "w.db")
    with Store(db) as s:
        s.add(_record(5, energy_j=-3.0))
        s.add(_record(6, energy_j=float("nan")))
    with Store(db, readonly=True) as s:
        runs = s.runs()
        assert sorted(r.energy_j for r in runs) == [360.0, 396.0, 3600.0]
        assert len(s.skipped) == 2
        assert "energy_j -3.0 is negative" in s.skipped[0] and "energy_j NaN" in s.skipped[1]
    out = tmp_path / "r.json"
    assert main(["report", "--store", str(db), "--format", "json", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "left out 2 stored run(s)" in err and "is negative" in err
    assert '"distilbert-sst2"' in out.read_text()


def test_unreadable_record_is_skipped_not_a_traceback(tmp_path):
    db = _stored(tmp_path / "w.db")
    conn = sqlite3.connect(db)
    conn.execute("UPDATE runs SET record = 'not json' WHERE repeat = 1")
    conn.commit()
    conn.close()
    with Store(db, readonly=True) as s:
        assert [r.energy_j for r in s.runs()] == [360.0, 3600.0]
        assert "unreadable record" in s.skipped[0]


def test_folder_as_store_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="is a folder"):
        Store(tmp_path)


def test_a_store_that_cannot_be_created_is_one_line(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(SystemExit) as e:
        main(_commands(blocker / "w.db", tmp_path)["import"])
    err = capsys.readouterr().err
    # import checks the store's folder at parse time
    assert e.value.code == 2 and f"{blocker} is not a folder" in err and "Traceback" not in err
    with pytest.raises(ConfigError, match="cannot create store"):  # a command that creates folders: the store says it
        Store(blocker / "w.db")
    assert blocker.read_text() == "x"


@settings(max_examples=80, deadline=None)
@given(value=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10, 10)),
       name=st.sampled_from(["energy_j", "duration_s", "gpu_energy_j", "wh_per_1000", "gco2e", "load_energy_j"]))
def test_a_finished_record_is_reportable_exactly_when_its_quantities_are_finite_and_not_negative(value, name):
    record = _record()
    setattr(record, name, value)
    ok = math.isfinite(value) and value >= 0
    assert (invalid_reason(record) is None) == ok
    if not ok:
        assert invalid_reason(record).startswith(f"{name} ")


def _garbled(path):
    """A store of ours whose schema text is overwritten: its header still says it is wattprint's."""
    _stored(path)
    data = bytearray(path.read_bytes())
    at = data.index(b"CREATE TABLE meta")
    data[at:at + 40] = b"A" * 40
    path.write_bytes(bytes(data))
    return path


def _edited(path, statement):
    """A store of ours changed by hand with one SQL statement."""
    _stored(path)
    conn = sqlite3.connect(path)
    conn.execute(statement)
    conn.commit()
    conn.close()
    return path


DAMAGED = {
    "garbled": (_garbled, "malformed database schema"),
    "schema-version-text": (lambda p: _edited(p, "UPDATE meta SET value = 'abc' WHERE key = 'schema_version'"),
                            "schema_version is 'abc'"),
    "no-record-column": (lambda p: _edited(p, "ALTER TABLE runs DROP COLUMN record"), "without column record"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGED))
@pytest.mark.parametrize("command", ["export", "report", "card", "compare", "breakeven", "import",
                                     "serve-bench-from-store"])
def test_a_damaged_store_is_one_line_and_left_untouched(tmp_path, capsys, damage, command):
    make, said = DAMAGED[damage]
    d = tmp_path / "d"
    d.mkdir()
    db = make(d / "w.db")
    before = _snapshot(db)
    card = tmp_path / "model"
    card.mkdir()
    argv = _commands(db, tmp_path).get(command) or ["card", str(card), "--store", str(db), "--model", "distilbert-sst2"]
    code = main(argv)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert "Traceback" not in err and len(lines) == 2 and lines[1].startswith("  fix: "), err
    assert lines[0].startswith("wattprint: error: ") and said in lines[0], err
    assert _snapshot(db) == before
    assert not (card / "README.md").exists()


def _rw_opens_read_only(monkeypatch):
    """What SQLite does with a file this user may not write: it opens it read-only without saying so."""
    from wattprint.store import ownership

    uri = ownership.uri
    monkeypatch.setattr(ownership, "uri", lambda path, **p: uri(path, **{**p, "mode": "ro"} if p.get("mode") == "rw"
                                                                  else p))


@pytest.mark.parametrize("command", ["bench", "import"])
def test_a_store_sqlite_opens_read_only_is_refused_before_any_run(tmp_path, capsys, monkeypatch, command):
    db = _stored(tmp_path / "w.db")
    _rw_opens_read_only(monkeypatch)
    assert main(_commands(db, tmp_path)[command]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err and len(lines) == 2 and "is read-only" in lines[0], err
    assert "chmod u+w" in lines[1]
    with Store(db, readonly=True) as s:
        assert len(s.runs(status=None)) == 3  # nothing stored, no failed run recorded


@pytest.mark.skipif(not _read_only_mount_works(), reason="needs root and unshare to mount a read-only folder")
@pytest.mark.parametrize("command", ["bench", "import"])
def test_a_store_on_a_read_only_file_system_is_refused_untouched(tmp_path, command):
    folder = tmp_path / "ro"
    folder.mkdir()
    db = _stored(folder / "w.db")
    before = _snapshot(db)
    argv = _commands(db, tmp_path)[command]
    line = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "wattprint", *argv])
    script = f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder} && {line}"
    src = str(Path(__file__).parents[2] / "src")
    proc = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": src}, cwd=tmp_path)
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert len(lines) == 2 and "is read-only" in lines[0], proc.stderr
    assert _snapshot(db) == before
