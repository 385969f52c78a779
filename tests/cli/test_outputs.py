"""Output paths: checked before any work (for `measure --json`, before the command runs), and a write that
still fails keeps the result in a file the error names."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import pytest
from cli_helpers import assert_one_error

OUTPUT_FLAGS = [
    ["carbon", "--kwh", "1", "--json"],
    ["export", "--store", "{store}", "-o"],
    ["report", "--store", "{store}", "-o"],
    ["compare", "--task", "text-classification", "--specific", "distilbert-sst2", "--general", "flan-t5-small",
     "--from-store", "--store", "{store}", "-o"],
]


def _argv(template: list[str], store: Path, target: str) -> list[str]:
    return [a.replace("{store}", str(store)) for a in template] + [target]


def _measure_argv(target: str, marker: Path) -> list[str]:
    return ["measure", "--gpus", "none", "--json", target, "--", sys.executable, "-c", f"open({str(marker)!r}, 'w')"]


@pytest.mark.parametrize("template", OUTPUT_FLAGS, ids=lambda t: t[0])
def test_output_that_is_a_folder(cli, tmp_path, store_path, template):
    code, out, err = cli(*_argv(template, store_path, str(tmp_path)))
    assert_one_error(code, err, f"{tmp_path} is a folder, not a file", "name a file in it")


@pytest.mark.parametrize("template", OUTPUT_FLAGS, ids=lambda t: t[0])
def test_output_in_a_missing_folder(cli, tmp_path, store_path, template):
    target = tmp_path / "missing" / "out.json"
    code, out, err = cli(*_argv(template, store_path, str(target)))
    assert_one_error(code, err, f"the folder {target.parent} does not exist", f"mkdir -p {target.parent}")
    assert not target.parent.exists()


def test_measure_checks_its_json_path_before_running_the_command(cli, tmp_path):
    marker = tmp_path / "ran"
    for target in (str(tmp_path), str(tmp_path / "missing" / "m.json"), "-"):
        code, _, err = cli(*_measure_argv(target, marker))
        assert_one_error(code, err, "argument --json")
        assert not marker.exists(), target


@pytest.fixture
def read_only_folder():
    """A folder this user cannot write: as root, checked under the effective uid of 'nobody'."""
    base = Path(tempfile.mkdtemp(prefix="wattprint-ro-"))
    base.chmod(0o755)
    folder = base / "ro"
    folder.mkdir(mode=0o555)
    folder.chmod(0o555)
    as_root = os.geteuid() == 0
    try:
        if as_root:
            os.seteuid(65534)
        yield folder
    finally:
        if as_root:
            os.seteuid(0)
        folder.chmod(0o755)
        folder.rmdir()
        base.rmdir()


def test_output_in_an_unwritable_folder(capsys, read_only_folder):
    from cli_helpers import run_cli

    marker = Path(tempfile.gettempdir()) / f"wattprint-never-{os.getpid()}"
    code, _, err = run_cli(capsys, *_measure_argv(str(read_only_folder / "m.json"), marker))
    assert_one_error(code, err, f"cannot write {read_only_folder / 'm.json'}", "is not writable by this user",
                     "pick a path in a folder you can write to")
    assert not marker.exists()
    code, _, err = run_cli(capsys, "carbon", "--kwh", "1", "--json", str(read_only_folder / "c.json"))
    assert_one_error(code, err, "is not writable")


def _kept_path(err: str) -> Path:
    line = next(line for line in err.splitlines() if "was kept in" in line)
    return Path(line.rsplit("was kept in ", 1)[1].strip())


def test_measure_keeps_its_result_when_the_disk_is_full(cli, tmp_path):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    marker = tmp_path / "ran"
    code, out, err = cli(*_measure_argv("/dev/full", marker))
    assert marker.exists()  # the command ran once
    assert code == 1 and "Traceback" not in err
    assert "cannot write /dev/full (No space left on device); the measurement was kept in" in err
    kept = _kept_path(err)
    try:
        doc = json.loads(kept.read_text())
        assert doc["exit_code"] == 0 and doc["command"][0] == sys.executable and doc["total_energy_j"] >= 0
    finally:
        kept.unlink()


def test_carbon_keeps_its_json_when_the_disk_is_full(cli):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    code, out, err = cli("carbon", "--kwh", "2", "--country", "FR", "--json", "/dev/full")
    assert code == 2 and "gCO2e" in out  # the text result was still printed
    kept = _kept_path(err)
    try:
        doc = json.loads(kept.read_text())
        assert doc["emissions"]["energy_j"] == pytest.approx(7.2e6) and doc["location"]["zone"] == "FR"
    finally:
        kept.unlink()


def test_a_failed_write_leaves_an_existing_file_whole(tmp_path, monkeypatch):
    from wattprint.cli.args import OutputError, write_output

    target = tmp_path / "report.md"
    target.write_text("old report\n")

    def fail_half_way(p: Path) -> None:
        p.write_text("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OutputError) as e:
        write_output(target, fail_half_way, what="report")
    assert target.read_text() == "old report\n" and e.value.kept is None  # the fallback failed the same way
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]  # no temporary file left beside it


def test_export_and_report_never_overwrite_the_store(cli, store_path):
    for argv in (["export", "--store", str(store_path), "--format", "csv", "-o", str(store_path)],
                 ["report", "--store", str(store_path), "--format", "csv", "-o", str(store_path)]):
        code, _, err = cli(*argv)
        assert_one_error(code, err, "is an SQLite database")
    from wattprint.store.sqlite import Store

    with Store(store_path) as s:
        assert len(s.runs()) == 3


@pytest.mark.parametrize("template", OUTPUT_FLAGS, ids=lambda t: t[0])
def test_an_output_replaces_only_a_file_wattprint_wrote_and_nobody_changed(cli, tmp_path, store_path, template):
    suffix = ".html" if template[0] in ("report", "compare") else ".csv" if template[0] == "export" else ".json"
    foreign = tmp_path / f"notes{suffix}"
    foreign.write_text("the user's own notes\n")
    code, _, err = cli(*_argv(template, store_path, str(foreign)))
    assert_one_error(code, err, f"{foreign} already exists and was not written by wattprint",
                     "pick another path, or move that file away first")
    assert foreign.read_text() == "the user's own notes\n"
    ours = tmp_path / f"out{suffix}"
    for _ in range(2):  # written, then replaced: the second time it is wattprint's own, unchanged
        code, _, err = cli(*_argv(template, store_path, str(ours)))
        assert code == 0, err
    with open(ours, "a") as f:
        f.write("an edit\n")
    code, _, err = cli(*_argv(template, store_path, str(ours)))
    assert_one_error(code, err, f"{ours} already exists and changed since wattprint wrote it")
    assert ours.read_text().endswith("an edit\n")


def test_an_output_never_replaces_another_programs_database(cli, tmp_path, store_path):
    import sqlite3

    theirs = tmp_path / "theirs.db"
    with sqlite3.connect(theirs) as con:
        con.execute("create table t (x)")
    before = theirs.read_bytes()
    code, _, err = cli("report", "--store", str(store_path), "--format", "md", "-o", str(theirs))
    assert_one_error(code, err, f"{theirs} is an SQLite database", "an output never replaces a database")
    assert theirs.read_bytes() == before


def test_a_folder_format_leaves_the_folder_as_it_was_when_one_file_is_not_ours(cli, tmp_path):
    from cli_helpers import make_record

    from wattprint.store.sqlite import Store

    store_path = tmp_path / "hw.db"
    env = {"hardware": {"cpu_model": "AMD EPYC 9654", "cpu_cores_logical": 192, "ram_bytes": 1_600_000_000_000}}
    with Store(store_path) as s:
        for i in range(2):
            s.add(make_record("text-classification", "distilbert-sst2", 360.0, repeat=i, environment=env))
    folder = tmp_path / "bo"
    code, _, err = cli("report", "--store", str(store_path), "--format", "boamps", "-o", str(folder))
    assert code == 0, err
    written = sorted(folder.iterdir())
    assert len(written) == 2  # one report per finished run
    code, _, err = cli("report", "--store", str(store_path), "--format", "boamps", "-o", str(folder))
    assert code == 0, err  # its own files, unchanged: replaced
    written[0].write_text("edited by hand\n")
    code, _, err = cli("report", "--store", str(store_path), "--format", "boamps", "-o", str(folder))
    assert_one_error(code, err, f"{written[0]} already exists and changed since wattprint wrote it")
    assert written[0].read_text() == "edited by hand\n" and sorted(folder.iterdir()) == written
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".bo.")] == []  # no staging folder left


def test_serve_bench_checks_its_outputs_before_the_sweep(cli, tmp_path, store_path):
    base = ["serve-bench", "--model", "m", "--url", "http://127.0.0.1:9", "--store", str(tmp_path / "sb.db")]
    cases = [(["--json", str(tmp_path / "missing" / "r.json")], "does not exist"),
             (["--report", str(tmp_path / "missing" / "r.html")], "does not exist"),
             (["--json", str(tmp_path)], "is a folder, not a file"),
             (["--json", str(tmp_path / "sb.db")], "is the store itself"),
             (["--json", str(tmp_path / "a.md"), "--report", str(tmp_path / "a.md")], "both name")]
    for extra, message in cases:
        code, _, err = cli(*base, *extra)
        assert_one_error(code, err, message)
        assert not (tmp_path / "sb.db").exists()  # nothing ran, nothing written
    code, _, err = cli("serve-bench", "--from-store", "--store", str(store_path), "--report", str(tmp_path / "x.pdf"))
    assert_one_error(code, err, "unknown format", "end the path with .html or .md")


def test_card_never_edits_a_readme_of_a_folder_that_holds_no_model(cli, tmp_path, store_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "README.md").write_text("# My project\n")
    code, _, err = cli("card", str(project), "--store", str(store_path), "--model", "distilbert-sst2")
    assert_one_error(code, err, "holds no model files", "pass the folder that holds the model's files")
    assert (project / "README.md").read_text() == "# My project\n"
    code, _, err = cli("card", "", "--store", str(store_path), "--model", "distilbert-sst2")
    assert_one_error(code, err, "the model folder is empty")
    (project / "config.json").write_text("{}")  # now a model's folder: its README.md is the model's card
    code, _, err = cli("card", str(project), "--store", str(store_path), "--model", "distilbert-sst2")
    assert code == 0, err
    assert (project / "README.md").read_text().startswith("---") or "Energy" in (project / "README.md").read_text()
