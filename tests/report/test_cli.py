import csv
import io
import json

import pytest

from wattprint.cli.main import main
from wattprint.report.breakeven import break_even, training_figure, training_table
from wattprint.store.sqlite import Store


@pytest.fixture
def store_path(tmp_path, record):
    path = tmp_path / "w.db"
    with Store(path) as s:
        for i, e in enumerate([360.0, 396.0]):
            s.add(record("text-classification", "distilbert-sst2", e, inferences=1000, repeat=i,
                         model_kind="task-specific"))
        s.add(record("text-classification", "flan-t5-small", 3600.0, inferences=1000, model_kind="general-purpose"))
    return path


def test_report_every_format(tmp_path, store_path, capsys):
    for fmt in ("html", "md", "csv", "json", "codecarbon"):
        out = tmp_path / f"r.{fmt}"
        assert main(["report", "--store", str(store_path), "--format", fmt, "-o", str(out)]) == 0
        assert out.stat().st_size > 100
    data = json.loads((tmp_path / "r.json").read_text())
    row = next(r for r in data["rows"] if r["model"] == "distilbert-sst2")
    assert row["kwh_per_1000_mean"] == pytest.approx((360.0 + 396.0) / 2 / 3.6e6)
    # no carbon stored: the report's location fills it, world average marked "defaulted"
    assert row["gco2e_per_1000"] > 0 and "defaulted" in row["carbon_source"]
    assert main(["report", "--store", str(store_path), "--format", "csv", "-o", "-"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {r["model"] for r in rows} == {"distilbert-sst2", "flan-t5-small"}


def test_report_country_flag_sets_carbon(tmp_path, store_path):
    out = tmp_path / "fr.json"
    assert main(["report", "--store", str(store_path), "--format", "json", "--country", "FR", "-o", str(out)]) == 0
    row = json.loads(out.read_text())["rows"][0]
    assert "FR" in row["carbon_source"]


def test_report_without_store_is_a_clear_error(tmp_path, capsys):
    assert main(["report", "--store", str(tmp_path / "none.db")]) == 2
    assert "no store at" in capsys.readouterr().err


def test_import_cli(tmp_path, fixtures_dir, capsys):
    db = tmp_path / "i.db"
    f = str(fixtures_dir / "v3.2.9_tasks_cpu_only.csv")
    assert main(["import", "codecarbon", f, "--inferences-per-run", "100", "--store", str(db)]) == 2
    assert "--inference-task" in capsys.readouterr().err  # its task rows are 'warmup' and 'classify'
    assert main(["import", "codecarbon", f, "--inferences-per-run", "100", "--inference-task", "classify",
                 "--unlisted-model", "--store", str(db)]) == 2
    assert "--task" in capsys.readouterr().err
    assert not db.exists()  # nothing written while the input was not known good
    assert main(["import", "codecarbon", f, "--inferences-per-run", "100", "--inference-task", "classify",
                 "--unlisted-model", "--task", "text-classification", "--store", str(db)]) == 0
    with Store(db) as s:
        runs = s.runs(origin="codecarbon")
    assert [r.model for r in runs] == ["my-sentiment-app"]
    assert runs[0].load_energy_j == pytest.approx(float(_cell(f, 1, "energy_consumed")) * 3.6e6)  # the warmup row
    assert runs[0].environment["codecarbon"]["tracking_mode"] == "process"


def _cell(path, index, column):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))[index - 1][column]


def test_breakeven_reproduces_the_papers_cost_parity():
    # Luccioni et al. 2024 give ~592.6 million inferences for BLOOMZ-7B at 1.0e-4 kWh per inference
    f = training_figure("bigscience/bloomz-7b1")
    be = break_even(f.total_kwh(), 1.0e-4, queries_per_day=1_000_000)
    assert be.inferences == pytest.approx(592_570_000)
    assert be.days == pytest.approx(592.57)
    assert training_figure("bloomz-560m").training_kwh == 10505
    assert all(t.source for t in training_table())


def test_breakeven_cli_with_store_mean(store_path, capsys):
    assert main(["breakeven", "--training-kwh", "1000", "--model", "distilbert-sst2", "--store", str(store_path),
                 "--queries-per-day", "1000", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    per_inference = (360.0 + 396.0) / 2 / 1000 / 3.6e6
    assert out["kwh_per_inference"] == pytest.approx(per_inference)
    assert out["inferences"] == pytest.approx(1000 / per_inference)
    assert out["days"] == pytest.approx(1000 / per_inference / 1000)


def test_breakeven_unknown_model(capsys):
    assert main(["breakeven", "--model", "bloomz-7b", "--wh-per-1000", "1"]) == 2
    assert "bloomz-7b1" in capsys.readouterr().err  # did you mean


def test_compare_from_store(store_path, capsys, tmp_path):
    out = tmp_path / "c.html"
    assert main(["compare", "--task", "text-classification", "--specific", "distilbert-sst2", "--general",
                 "flan-t5-small", "--store", str(store_path), "--from-store", "--json", "-o", str(out)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ratios"][0]["energy_ratio"] == pytest.approx(3600.0 / 378.0)
    assert "<svg" in out.read_text()
