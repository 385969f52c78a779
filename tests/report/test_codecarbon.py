import csv
import io

import pytest

from wattprint.core.errors import ConfigError
from wattprint.store.codecarbon import EXPORT_COLUMNS, detect_layout, write_emissions_csv
from wattprint.store.codecarbon_import import ImportOptions, import_files, read_records
from wattprint.store.sqlite import Store
from wattprint.tasks.names import resolve_task

EXPECTED_LAYOUT = {
    "v1.2.0_emissions.csv": "1.x", "v2.1.0_emissions.csv": "2.0-2.1", "v2.2.0_emissions.csv": "2.2",
    "v2.5.0_emissions.csv": "2.3-2.6", "v2.8.0_emissions.csv": "2.7-3.0.7", "v3.1.0_emissions.csv": "3.0.8-3.1",
    "v3.2.9_emissions.csv": "3.2", "v2.5.0_tasks.csv": "tasks 2.3-3.0.7", "v3.2.9_tasks.csv": "tasks 3.2",
    "v3.2.9_tasks_cpu_only.csv": "tasks 3.2",
    "real-3.3.2_emissions.csv": "3.2", "real-3.3.2_tasks.csv": "tasks 3.2",
}
OPTS = ImportOptions(inferences_per_run=500, task="text-classification", unlisted_model=True)
# Every task row of these fixtures ran inferences ('*'); their project names include one outside the catalog.
TASK_OPTS = ImportOptions(inferences_per_run=500, task="text-classification", inference_tasks=("*",),
                          unlisted_model=True)


def _raw(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("name", sorted(EXPECTED_LAYOUT))
def test_every_layout_reads_with_codecarbons_numbers(fixtures_dir, name):
    path = fixtures_dir / name
    with open(path) as f:
        assert detect_layout(f.readline().strip().split(",")) == EXPECTED_LAYOUT[name]
    raw = _raw(path)
    recs = read_records([path], TASK_OPTS if "tasks" in name else OPTS)
    assert len(recs) == len(raw)
    for rec, row in zip(recs, raw):
        kwh = float(row["energy_consumed"])
        assert rec.origin == "codecarbon" and rec.status == "finished" and rec.preset == "codecarbon"
        assert rec.energy_j == pytest.approx(kwh * 3.6e6)
        assert rec.wh_per_1000 == pytest.approx(kwh * 1000 / 500 * 1000)
        assert rec.gco2e == pytest.approx(float(row["emissions"]) * 1000)
        assert rec.duration_s == float(row["duration"])
        assert rec.model == row["project_name"] and rec.task == "text-classification"
        kept = rec.environment["codecarbon"]
        assert kept["layout"] == EXPECTED_LAYOUT[name]
        for col, value in row.items():  # every CodeCarbon label kept as written
            assert kept[col] == value
        if "gpu_energy" in row:
            assert rec.gpu_energy_j == pytest.approx(float(row["gpu_energy"]) * 3.6e6)
            assert rec.cpu_energy_j == pytest.approx(float(row["cpu_energy"]) * 3.6e6)
            assert rec.ram_energy_j == pytest.approx(float(row["ram_energy"]) * 3.6e6)
        else:
            assert any("no CPU/GPU/RAM split" in w for w in rec.warnings)
        assert any("measured (RAPL) or estimated" in w for w in rec.warnings)
        if "task_name" in row:
            assert rec.environment["codecarbon"]["task_name"] == row["task_name"]


def test_catalog_maps_project_name_to_task(fixtures_dir):
    recs = read_records([fixtures_dir / "v3.2.9_emissions.csv"], ImportOptions(inferences_per_run=10))
    assert [(r.model, r.task) for r in recs] == [("distilbert-sst2", "text-classification"),
                                                 ("bert-base-sst2", "text-classification")]
    assert recs[0].model_kind == "task-specific" and recs[0].parameters


def test_model_outside_the_catalog_needs_the_flag_and_a_task(fixtures_dir):
    path = fixtures_dir / "v3.2.9_tasks_cpu_only.csv"  # project_name "my-sentiment-app"
    opts = {"inferences_per_run": 10, "inference_tasks": ("classify",)}
    with pytest.raises(ConfigError) as e:
        read_records([path], ImportOptions(**opts, task="text-classification"))
    assert "'my-sentiment-app'" in e.value.message and "--unlisted-model" in e.value.fix
    with pytest.raises(ConfigError) as e:
        read_records([path], ImportOptions(**opts, unlisted_model=True))
    assert "--task" in e.value.fix
    recs = read_records([path], ImportOptions(**opts, unlisted_model=True, task="sentiment-analysis",
                                              task_resolver=resolve_task))
    assert [(r.model, r.task, r.model_kind) for r in recs] == [("my-sentiment-app", "text-classification", "unknown")]


def test_task_name_cannot_name_the_model():
    with pytest.raises(ConfigError, match="task_name names the phase"):
        ImportOptions(inferences_per_run=10, model_column="task_name")


def test_not_a_codecarbon_file(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(ConfigError):
        read_records([p], OPTS)


def test_import_into_store_is_idempotent(tmp_path, fixtures_dir):
    files = sorted(fixtures_dir.glob("*.csv"))
    with Store(tmp_path / "s.db") as store:
        added, skipped = import_files(files, TASK_OPTS, store)
        again, skipped2 = import_files(files, TASK_OPTS, store)
        stored = store.runs(origin="codecarbon")
    assert len(added) == sum(len(_raw(f)) for f in files) and skipped == 0
    assert again == [] and skipped2 == len(added)
    assert sorted(r.run_id for r in stored) == sorted(r.run_id for r in added)


def test_export_native_runs_in_codecarbon_units(record):
    r = record("text-classification", "m", energy_j=7200.0, cpu_energy_j=1800.0, gpu_energy_j=3600.0,
               ram_energy_j=1800.0, duration_s=36.0, gco2e=0.5,
               emissions={"intensity": {"zone": "FR"}, "pue": 1.1},
               environment={"hardware": {"cpu_model": "EPYC", "ram_bytes": 2 * 1024**3}},
               components=[{"kind": "cpu", "scope": "process", "method": "counter"}])
    buf = io.StringIO()
    assert write_emissions_csv([r], buf) == 1
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert list(rows[0]) == list(EXPORT_COLUMNS)
    row = rows[0]
    assert float(row["energy_consumed"]) == pytest.approx(0.002)
    assert float(row["gpu_energy"]) == pytest.approx(0.001)
    assert float(row["cpu_power"]) == pytest.approx(50.0)
    assert float(row["emissions"]) == pytest.approx(0.0005)
    assert float(row["ram_total_size"]) == pytest.approx(2.0)
    assert row["tracking_mode"] == "process" and row["cpu_model"] == "EPYC" and row["codecarbon_version"] == ""
    assert row["country_iso_code"] == "FR" and float(row["pue"]) == 1.1


def test_export_then_import_round_trip(tmp_path, record):
    recs = [record("text-classification", "m", energy_j=3600.0 * (i + 1), duration_s=10.0, gco2e=1.0, repeat=i)
            for i in range(3)]
    out = tmp_path / "emissions.csv"
    write_emissions_csv(recs, out)
    back = read_records([out], ImportOptions(inferences_per_run=100, task="text-classification", unlisted_model=True))
    assert [b.energy_j for b in back] == pytest.approx([r.energy_j for r in recs])
    assert back[0].settings["codecarbon_layout"] == "3.2"
    # an imported run exports as CodeCarbon wrote it
    buf = io.StringIO()
    write_emissions_csv(back, buf)
    assert list(csv.DictReader(io.StringIO(buf.getvalue())))[1]["run_id"] == recs[1].run_id


@pytest.mark.parametrize("name", ["real-3.3.2_emissions.csv", "real-3.3.2_tasks.csv"])
def test_files_written_by_real_codecarbon(fixtures_dir, name):
    raw = _raw(fixtures_dir / name)
    opts = ImportOptions(inferences_per_run=5, inference_tasks=("*",)) if "tasks" in name else \
        ImportOptions(inferences_per_run=10)
    recs = read_records([fixtures_dir / name], opts)
    assert {r.model for r in recs} <= {"distilbert-sst2", "twitter-roberta-sentiment"}
    for rec, row in zip(recs, raw):
        parts = sum(float(row[k]) for k in ("cpu_energy", "gpu_energy", "ram_energy"))
        assert rec.energy_j == pytest.approx(parts * 3.6e6, rel=1e-9)  # CodeCarbon's total is its parts' sum
        assert rec.environment["codecarbon"]["codecarbon_version"] == "3.3.2"
        assert rec.emissions["zone"] == "FRA" and rec.emissions["source"] == "CodeCarbon 3.3.2"
