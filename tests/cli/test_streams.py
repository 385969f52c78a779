"""Results on stdout, progress and notes on stderr: `bench`'s table is its result, its notes and the count of
finished runs are not; `export` says what it wrote on stderr, as `report` and `import` do."""

from __future__ import annotations

from cli_helpers import make_record

from wattprint.cli.bench import _print_results


def _records():
    return [make_record("text-classification", "distilbert-sst2", 36.0, plan_key="k1",
                        warnings=["settings shrunk: samples 100 -> 10 (the dataset has 10 rows)"])]


def test_bench_prints_the_table_on_stdout_and_the_notes_on_stderr(capsys):
    assert _print_results(_records(), "w.db", "quick") == 0
    out, err = capsys.readouterr()
    assert "distilbert-sst2" in out and "note:" not in out and "model run(s)" not in out
    assert "note: settings shrunk: samples 100 -> 10" in err
    assert "1 of 1 model run(s) finished (preset quick); every run is in w.db" in err


def test_bench_quiet_prints_the_table_only(capsys):
    assert _print_results(_records(), "w.db", "quick", quiet=True) == 0
    out, err = capsys.readouterr()
    assert "distilbert-sst2" in out and err == ""


def test_export_says_what_it_wrote_on_stderr(cli, store_path, tmp_path):
    code, out, err = cli("export", "--store", str(store_path), "-o", str(tmp_path / "x.csv"))
    assert code == 0 and out == ""
    assert f"wrote 3 run(s) to {tmp_path / 'x.csv'} (csv)" in err
