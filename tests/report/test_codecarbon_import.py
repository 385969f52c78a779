"""The CodeCarbon importer reads task logs as the study wrote them, maps names, and refuses bad input whole."""

import csv
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wattprint.cli.main import main
from wattprint.core.errors import ConfigError, UnknownNameError
from wattprint.store.codecarbon_import import ImportOptions, plan_import, read_records
from wattprint.store.sqlite import Store
from wattprint.tasks.names import resolve_task

SDXL = "study/emissions_base_e38f7eae-bcc9-498e-ab0e-c6100e9dc9b3.csv"
DISTILGPT2 = "study/emissions_base_0d768dae-1ba1-49af-9967-a3cb52a7db8f.csv"
SD15 = "study/emissions_base_d490ecdf-a7d4-4136-9e55-bd947f6a8840.csv"  # project_name runwayml/stable-diffusion-v1-5
DISTILGPT2_WHOLE_RUN = "study/textgen_wikitext_distilgpt2.csv"
J_PER_KWH = 3.6e6


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _kwh(path, task_name):
    return sum(float(r["energy_consumed"]) for r in _rows(path) if r["task_name"] == task_name)


def test_study_task_logs_count_only_the_query_rows(fixtures_dir):
    """Load, transfer and query rows as CodeCarbon 2.3.1's task API wrote them for the study (1,000 inputs)."""
    opts = ImportOptions(inferences_per_run=1000)
    sdxl, gpt = read_records([fixtures_dir / SDXL, fixtures_dir / DISTILGPT2], opts)
    # one run per tracker run, stored under wattprint's names
    assert (sdxl.model, sdxl.task) == ("sdxl-base-1.0", "image-generation")
    assert (gpt.model, gpt.task) == ("distilgpt2", "text-generation")
    # energy per 1,000 inferences from the query row alone: the study's 11.45 kWh per 1,000 SDXL images and
    # 14.7 Wh per 1,000 distilgpt2 queries (the query rows' energy_consumed: 11.453643843892861 and
    # 0.014698281393441754 kWh)
    assert sdxl.wh_per_1000 == pytest.approx(11_453.643843892861)
    assert gpt.wh_per_1000 == pytest.approx(14.698281393441754)
    assert sdxl.energy_j == pytest.approx(11.453643843892861 * J_PER_KWH)
    assert sdxl.duration_s == pytest.approx(33729.753682136536)
    assert sdxl.gpu_energy_j == pytest.approx(7.019381923834409 * J_PER_KWH)
    # the other rows of the run are its load energy, not inferences: load model + transfer model to GPU
    assert sdxl.load_energy_j == pytest.approx((0.0018799884904847793 + 0.005640012303329033) * J_PER_KWH)
    assert sdxl.load_duration_s == pytest.approx(6.928529977798462 + 20.589070558547974)
    assert [t["task_name"] for t in sdxl.settings["load_tasks"]] == ["load model", "transfer model to GPU"]
    assert gpt.load_energy_j == pytest.approx(0.0017573076980797301 * J_PER_KWH)
    assert sdxl.settings["inference_task"] == "query model" and sdxl.inferences == 1000
    # what the old reading (every row a run of 1,000) gave: the mean of the rows, 3.82 kWh and 8.2 Wh
    rows_mean = sum(float(r["energy_consumed"]) for r in _rows(fixtures_dir / SDXL)) / 3
    assert rows_mean * 1e6 / 1000 == pytest.approx(3820.4, rel=1e-3) != pytest.approx(sdxl.wh_per_1000)


def test_a_hub_id_that_moved_is_its_catalog_entry(fixtures_dir):
    (sd,) = read_records([fixtures_dir / SD15], ImportOptions(inferences_per_run=1000))
    assert (sd.model, sd.task, sd.model_kind) == ("sd-1.5", "image-generation", "task-specific")
    assert sd.wh_per_1000 == pytest.approx(1366.112836164036)  # the query row: 1.366 kWh per 1,000 images
    assert sd.load_energy_j == pytest.approx((0.001210493852614209 + 0.0036657581022835695) * J_PER_KWH)
    assert sd.model_source == "codecarbon:runwayml/stable-diffusion-v1-5"


def test_study_import_into_the_store_and_the_report(tmp_path, fixtures_dir, capsys):
    db = tmp_path / "w.db"
    files = [str(fixtures_dir / f) for f in (SDXL, DISTILGPT2)]
    assert main(["import", "codecarbon", *files, "--inferences-per-run", "1000", "--batch-size", "1",
                 "--store", str(db)]) == 0
    assert "imported 2 CodeCarbon run(s)" in capsys.readouterr().err
    out = tmp_path / "r.json"
    assert main(["report", "--store", str(db), "--format", "json", "--task", "image-generation", "-o", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert [(r["model"], r["kwh_per_1000_mean"]) for r in rows] == [("sdxl-base-1.0", pytest.approx(11.4536438))]


def test_whole_run_row_of_a_run_whose_task_rows_are_imported_is_left_out(fixtures_dir):
    plan = plan_import([fixtures_dir / DISTILGPT2, fixtures_dir / DISTILGPT2_WHOLE_RUN],
                       ImportOptions(inferences_per_run=1000))
    assert len(plan.records) == 1 and plan.records[0].wh_per_1000 == pytest.approx(14.698281393441754)
    assert "whole-run row of run 0d768dae-1ba1-49af-9967-a3cb52a7db8f left out" in plan.notes[0]
    alone = read_records([fixtures_dir / DISTILGPT2_WHOLE_RUN], ImportOptions(inferences_per_run=1000))
    assert alone[0].wh_per_1000 == pytest.approx(16.5197054287414)  # the whole run: loading included
    assert any("model loading included" in w for w in alone[0].warnings)


def test_inference_task_chooses_the_rows(fixtures_dir):
    (gpt,) = read_records([fixtures_dir / DISTILGPT2], ImportOptions(inferences_per_run=10,
                                                                      inference_tasks=("load*",)))
    assert gpt.energy_j == pytest.approx(_kwh(fixtures_dir / DISTILGPT2, "load model") * J_PER_KWH)
    assert gpt.load_energy_j == pytest.approx(_kwh(fixtures_dir / DISTILGPT2, "query model") * J_PER_KWH)


def test_batch_size_is_recorded_and_its_absence_said(fixtures_dir):
    (given_,) = read_records([fixtures_dir / DISTILGPT2], ImportOptions(inferences_per_run=1000, batch_size=8))
    (absent,) = read_records([fixtures_dir / DISTILGPT2], ImportOptions(inferences_per_run=1000))
    assert given_.batch_size == 8 and given_.settings["batch_size_source"] == "--batch-size"
    assert not any("batch size" in w for w in given_.warnings)
    assert absent.batch_size == 1 and any("batch size not given" in w for w in absent.warnings)


@pytest.mark.parametrize(("name", "task"), [
    ("image-to-text", "image-captioning"), ("text-to-image", "image-generation"),
    ("automatic-speech-recognition", "automatic-speech-recognition"), ("sentiment-analysis", "text-classification"),
    ("Text Classification", "text-classification"), ("obj_detect", "object-detection"), ("itt", "image-captioning"),
    ("masked language modeling", "fill-mask"), ("extractive QA", "question-answering"), ("summarize", "summarization"),
])
def test_study_and_hub_task_names_map_to_wattprints(name, task):
    assert resolve_task(name) == task


def test_text2text_generation_is_settled_by_the_model_or_by_the_user(fixtures_dir):
    assert resolve_task("text2text-generation", ("summarization",)) == "summarization"
    with pytest.raises(ConfigError, match="pipeline, not a task") as e:
        resolve_task("text2text-generation", ("summarization", "text-classification"))
    assert "--task" in e.value.fix


def test_alias_given_to_task_is_stored_under_wattprints_name(fixtures_dir):
    opts = ImportOptions(inferences_per_run=1000, task="text-to-image", task_resolver=resolve_task)
    (sdxl,) = read_records([fixtures_dir / SDXL], opts)
    assert sdxl.task == "image-generation"


def _import(tmp_path, *args):
    db = tmp_path / "w.db"
    return main(["import", "codecarbon", *args, "--store", str(db)]), db


def _one_error(capsys):
    lines = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
    assert len(lines) == 2 and lines[0].startswith("wattprint: error: ") and lines[1].startswith("  fix: ")
    return lines


@pytest.mark.parametrize(("args", "message", "fix"), [
    (["--task", "text-to-imag"], "unknown task 'text-to-imag'; did you mean 'text-to-image'", "wattprint tasks"),
    (["--task", "summarization"], "sdxl-base-1.0 is a task-specific image-generation model, not summarization",
     "--task"),
    (["--model", "sdxl-base-1.O"], "unknown model 'sdxl-base-1.O'; did you mean 'sdxl-base-1.0'", "--unlisted-model"),
    (["--model", "stabilityai/stable-diffusion-xl-base-1.O"],
     "not in wattprint's catalog; did you mean 'stabilityai/stable-diffusion-xl-base-1.0'", "--unlisted-model"),
    (["--inference-task", "query modle"], "did you mean 'query model'", "--inference-task"),
    (["--inference-task", "inference"], "no task row named 'inference'", "--inference-task"),
])
def test_bad_input_is_one_line_with_its_fix_and_writes_nothing(tmp_path, fixtures_dir, capsys, args, message, fix):
    rc, db = _import(tmp_path, str(fixtures_dir / SDXL), "--inferences-per-run", "1000", *args)
    assert rc == 2
    error, fix_line = _one_error(capsys)
    assert message in error and fix in fix_line
    assert not db.exists()


def test_csv_with_no_inference_rows(tmp_path, fixtures_dir, capsys):
    src = _rows(fixtures_dir / SDXL)
    f = tmp_path / "load_only.csv"
    _write(f, [r for r in src if r["task_name"] != "query model"])
    rc, db = _import(tmp_path, str(f), "--inferences-per-run", "1000")
    assert rc == 2
    error, fix = _one_error(capsys)
    assert "no task row named 'query model'" in error and "'load model', 'transfer model to GPU'" in error
    assert "--inference-task" in fix and not db.exists()


def test_run_files_take_no_inference_task(fixtures_dir):
    with pytest.raises(ConfigError, match="no task_name column"):
        read_records([fixtures_dir / DISTILGPT2_WHOLE_RUN], ImportOptions(inferences_per_run=1, inference_tasks=("x",)))


def _write(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


BAD_VALUES = ["-0.5", "nan", "NaN", "inf", "-inf", "", "  ", "n/a", "1,5", "0x10"]


@pytest.mark.parametrize("column", ["energy_consumed", "duration"])
@pytest.mark.parametrize("value", BAD_VALUES)
def test_a_bad_row_is_refused_with_its_file_and_line(tmp_path, fixtures_dir, capsys, column, value):
    rows = _rows(fixtures_dir / SDXL)
    rows[2][column] = value  # the query row: line 4 of the file
    f = tmp_path / "bad.csv"
    _write(f, rows)
    db = tmp_path / "w.db"
    with Store(db) as s:  # an existing store must come out as it went in
        pass
    before = db.read_bytes()
    assert main(["import", "codecarbon", str(f), "--inferences-per-run", "1000", "--store", str(db)]) == 2
    error, fix = _one_error(capsys)
    assert f"{f}:4: {column} " in error and "nothing imported" in error and "--skip-bad-rows" in fix
    assert db.read_bytes() == before
    with Store(db, readonly=True) as s:
        assert s.runs(status=None) == []


@pytest.mark.parametrize("column, value", [("energy_consumed", "1e308"), ("gpu_energy", "1e303"),
                                           ("emissions", "1e305")])
def test_a_number_that_overflows_once_converted_is_refused(tmp_path, fixtures_dir, capsys, column, value):
    """1e308 kWh is finite, and infinite in joules: the rows' check converts before it accepts."""
    rows = _rows(fixtures_dir / "v3.2.9_emissions.csv")
    rows[0][column] = value
    f = tmp_path / "big.csv"
    _write(f, rows)
    db = tmp_path / "w.db"
    assert main(["import", "codecarbon", str(f), "--inferences-per-run", "1", "--store", str(db)]) == 2
    error, fix = _one_error(capsys)
    assert f"{f}:2: {column} '{value}' is too large" in error and "nothing imported" in error
    assert not db.exists()


def test_skip_bad_rows_imports_the_rest_and_reports_each(tmp_path, fixtures_dir, capsys):
    good = _rows(fixtures_dir / DISTILGPT2)
    bad = _rows(fixtures_dir / SDXL)
    bad[2]["energy_consumed"] = "-11.45"  # SDXL's query row
    f = tmp_path / "bad.csv"
    _write(f, bad)
    g = tmp_path / "good.csv"
    _write(g, good)
    rc, db = _import(tmp_path, str(f), str(g), "--inferences-per-run", "1000", "--skip-bad-rows")
    assert rc == 0
    err = capsys.readouterr().err
    assert f"skipped {f}:4: energy_consumed '-11.45' is negative" in err
    assert f"skipped {f}:2, 3: run e38f7eae-bcc9-498e-ab0e-c6100e9dc9b3 has no 'query model' row" in err
    with Store(db, readonly=True) as s:
        assert [(r.model, r.wh_per_1000) for r in s.runs()] == [("distilgpt2", pytest.approx(14.698281393441754))]


_cell = st.one_of(
    st.sampled_from(BAD_VALUES),
    st.floats(max_value=-1e-12, allow_nan=False).map(repr),
    st.text(alphabet="abcxyz-+ _", min_size=1, max_size=6),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(row=st.integers(0, 1), column=st.sampled_from(["energy_consumed", "duration", "gpu_energy", "emissions"]),
       value=_cell)
def test_any_bad_number_in_any_row_is_refused_with_its_line(tmp_path, fixtures_dir, row, column, value):
    if column in ("gpu_energy", "emissions") and not value.strip():
        return  # optional columns may be blank
    try:
        x = float(value)
        if x >= 0 and math.isfinite(x):
            return  # a valid number after all
    except ValueError:
        pass
    rows = _rows(fixtures_dir / DISTILGPT2)
    rows[row][column] = value
    f = tmp_path / "p.csv"
    _write(f, rows)
    with pytest.raises(ConfigError) as e:
        plan_import([f], ImportOptions(inferences_per_run=1000))
    assert e.value.message.startswith(f"{f}:{row + 2}: {column} ")
    assert "\n" not in e.value.message


def test_not_utf8_is_one_line(tmp_path):
    f = tmp_path / "latin1.csv"
    f.write_bytes("task_name,duration,energy_consumed,project_name\nt\xe2che,1,1,sdxl\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        plan_import([f], ImportOptions(inferences_per_run=1))


def test_unknown_task_fails_before_any_file_is_read(tmp_path):
    with pytest.raises(UnknownNameError) as e:
        plan_import([tmp_path / "does-not-matter.csv"], ImportOptions(inferences_per_run=1, task="imge-generation"))
    assert "image-generation" in e.value.matches  # without the registry's resolver: the catalog's task names
    with pytest.raises(UnknownNameError) as e:
        plan_import([tmp_path / "x.csv"], ImportOptions(inferences_per_run=1, task="imge-to-text",
                                                        task_resolver=resolve_task))
    assert "image-to-text" in e.value.matches


def test_skipping_every_row_stores_nothing(tmp_path, fixtures_dir, capsys):
    rows = _rows(fixtures_dir / SDXL)
    rows[2]["duration"] = "nan"
    f = tmp_path / "bad.csv"
    _write(f, rows)
    rc, db = _import(tmp_path, str(f), "--inferences-per-run", "1000", "--skip-bad-rows")
    assert rc == 1 and not db.exists()
    err = capsys.readouterr().err
    assert f"skipped {f}:4: duration 'nan' is not a finite number" in err and "nothing to import" in err


def test_a_file_that_is_not_codecarbons_is_named(tmp_path):
    f = tmp_path / "other.csv"
    f.write_text("a,b\n1,2\n")
    with pytest.raises(ConfigError, match=f"^{f}: not a CodeCarbon emissions file"):
        plan_import([f], ImportOptions(inferences_per_run=1))


def test_a_skipped_load_row_is_said_on_its_run(tmp_path, fixtures_dir):
    rows = _rows(fixtures_dir / SDXL)
    rows[1]["energy_consumed"] = "-1"  # transfer model to GPU
    f = tmp_path / "bad.csv"
    _write(f, rows)
    plan = plan_import([f], ImportOptions(inferences_per_run=1000, skip_bad_rows=True))
    (sdxl,) = plan.records
    assert plan.skipped == [f"{f}:3: energy_consumed '-1' is negative"]
    assert sdxl.load_energy_j == pytest.approx(0.0018799884904847793 * J_PER_KWH)  # load model only
    assert any("its load energy leaves that row out" in w for w in sdxl.warnings)
    assert sdxl.wh_per_1000 == pytest.approx(11_453.643843892861)


def test_a_run_without_inference_row_among_good_ones(tmp_path, fixtures_dir):
    load_only = [r for r in _rows(fixtures_dir / SDXL) if r["task_name"] != "query model"]
    f = tmp_path / "load_only.csv"
    _write(f, load_only)
    with pytest.raises(ConfigError) as e:
        plan_import([fixtures_dir / DISTILGPT2, f], ImportOptions(inferences_per_run=1000))
    assert e.value.message.startswith(f"{f}:2, 3: run e38f7eae-bcc9-498e-ab0e-c6100e9dc9b3 has no 'query model' row")
    assert "--inference-task" in e.value.fix and "--skip-bad-rows" in e.value.fix
