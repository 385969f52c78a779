"""BoAmps reports: every report valid against BoAmps' published JSON schemas (vendored in tests/data/boamps),
each figure the record's own (energy in kWh, counts, dates), unknown fields left out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft4Validator, Draft202012Validator
from referencing import Registry, Resource
from tests.cli.cli_helpers import assert_one_error, run_cli

from wattprint.core.errors import ConfigError
from wattprint.report.boamps import report, to_json, write_reports
from wattprint.store.codecarbon_import import ImportOptions, plan_import
from wattprint.store.sqlite import Store

DATA = Path(__file__).resolve().parents[1] / "data" / "boamps"
BASE = "https://raw.githubusercontent.com/Boavizta/BoAmps/main/model/"
NOW = 1_790_000_000.0  # 2026-09-21 14:13:20 UTC


def _schema(name: str) -> dict:
    return json.loads((DATA / f"{name}_schema.json").read_text())


@pytest.fixture(scope="module")
def validators():
    """The schema as BoAmps' validate-schema.py reads it (draft 2020-12 with a registry of the sub-schemas),
    and as its own $schema says (draft-04)."""
    subs = [(BASE + f"{n}_schema.json", Resource.from_contents(_schema(n)))
            for n in ("algorithm", "dataset", "measure", "hardware")]
    registry = Registry().with_resources(subs)
    main = _schema("report")
    return [Draft202012Validator(main, registry=registry), Draft4Validator(main, registry=registry)]


def errors(validators, doc: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for v in validators for e in v.iter_errors(doc)]


def test_the_validators_accept_boamps_example_and_catch_what_is_missing(validators):
    example = json.loads((DATA / "energy-report-llm-inference.json").read_text())
    assert errors(validators, example) == []
    broken = {k: v for k, v in example.items() if k != "measures"}
    broken["infrastructure"] = {"infraType": "cloud", "components": example["infrastructure"]["components"]}
    found = " ".join(errors(validators, broken))
    assert "'measures' is a required property" in found and "'cloud' is not one of" in found


GPU_ENV = {"platform": "Linux-6.8.0-x86_64-with-glibc2.39", "python": "3.11.9",
           "hardware": {"cpu_model": "AMD EPYC 9654", "cpu_cores_logical": 192, "ram_bytes": 1_600_000_000_000},
           "gpus": [{"index": i, "name": "NVIDIA H100 80GB HBM3", "uuid": f"GPU-{i}", "memory_bytes": 85_520_000_000}
                    for i in range(8)],
           "libraries": {"wattprint": "0.1.0", "torch": "2.5.1"}}
CLOUD = {"gco2e": 30.0, "pue": 1.14, "intensity": {"g_per_kwh": 138.75, "zone": "aws:us-west-2",
                                                   "zone_name": "Oregon, US", "method": "table",
                                                   "set_by": "flag --cloud"}}


CPU = [{"kind": "cpu", "name": "Intel Xeon", "method": "counter", "source": "rapl", "energy_j": 10.0}]


@pytest.fixture
def generation(record):
    """Two GPUs of eight metered, a cloud region, an idle calibration, tokens in and out."""
    components = [{"kind": "gpu", "name": "NVIDIA H100 80GB HBM3", "uuid": f"GPU-{i}", "method": "counter",
                   "source": "nvml", "energy_j": 1.8e5} for i in (2, 5)]
    components.append({"kind": "cpu", "name": "AMD EPYC 9654", "method": "estimated", "source": "cpu-estimate",
                       "energy_j": 3.6e4})
    return record("text-generation", "qwen2.5-1.5b-instruct", 3.96e5, inferences=1000, samples=1000,
                  energy_uncertainty_j=3.0e4, duration_s=812.5, started_at=1_780_000_000.0, dtype="bfloat16",
                  weights="pretrained", workload="dataset", dataset="wikitext", input_tokens=250_000,
                  generated_tokens=64_000, parameters=1_543_714_304, device="cuda", components=components,
                  gpu_uuids=["GPU-2", "GPU-5"], environment=GPU_ENV, emissions=CLOUD, idle_power_w=150.0,
                  settings={"idle_seconds": 12.0})


def test_a_gpu_generation_run(validators, generation):
    doc = report(generation, NOW)
    assert errors(validators, doc) == []
    assert doc["header"] == {"formatVersion": "1.1.0", "formatVersionSpecificationUri": BASE + "report_schema.json",
                             "reportId": str(__import__("uuid").UUID(hex=generation.run_id)),
                             "reportDatetime": "2026-09-21 14:13:20"}
    task = doc["task"]
    assert task["taskStage"] == "inference" and task["taskFamily"] == "textGeneration" and task["nbRequest"] == 1000
    assert task["algorithms"] == [{"foundationModelName": "qwen2.5-1.5b-instruct",
                                   "foundationModelUri": "https://huggingface.co/Qwen/Qwen2.5-1.5B-Instruct",
                                   "parametersNumber": 1.543714304, "framework": "pytorch",
                                   "frameworkVersion": "2.5.1", "quantization": "bf16"}]
    assert task["dataset"][0]["dataQuantity"] == 1000 and task["dataset"][0]["source"] == "public"
    assert task["dataset"][0]["sourceUri"].startswith("https://huggingface.co/datasets/")
    assert {(d["dataUsage"], d["dataType"], d["dataQuantity"]) for d in task["dataset"][1:]} == {
        ("input", "token", 250_000), ("output", "token", 64_000)}
    assert "measuredAccuracy" not in task  # no accuracy in the record
    (m,) = doc["measures"]
    assert m["powerConsumption"] == pytest.approx(0.11)  # 396 kJ
    assert m["measurementDuration"] == 812.5 and m["measurementDateTime"] == "2026-05-28 20:26:40"
    assert m["gpuTrackingMode"] == "nvml (counter)" and m["cpuTrackingMode"] == "cpu-estimate (estimated)"
    assert m["powerCalibrationMeasurement"] == pytest.approx(150.0 * 12 / 3.6e6)
    assert m["durationCalibrationMeasurement"] == 12.0
    infra = doc["infrastructure"]
    assert infra["infraType"] == "publicCloud" and infra["cloudProvider"] == "aws"
    assert infra["components"][0] == {"componentName": "NVIDIA H100 80GB HBM3", "componentType": "gpu",
                                      "nbComponent": 2, "memorySize": 85.52}  # the two it used, not all eight
    assert doc["environment"] == {"country": "US", "location": "Oregon, US (aws:us-west-2)",
                                  "powerSourceCarbonIntensity": 138.75}
    assert doc["system"] == {"os": "linux"} and doc["software"] == {"language": "python", "version": "3.11.9"}
    assert doc["quality"] == "high"  # 30 kJ of 396 kJ: 7.6 %


def test_a_cpu_run_without_place_leaves_unknowns_out(validators, record):
    r = record("image-classification", "/models/my-vit", 90.0, inferences=10, energy_uncertainty_j=40.0,
               components=[{"kind": "cpu", "name": "Apple M2", "method": "estimated", "source": "cpu-estimate"}])
    doc = report(r, NOW)
    assert errors(validators, doc) == []
    assert "environment" not in doc and "system" not in doc and "software" not in doc
    assert doc["infrastructure"] == {"infraType": "other", "components": [
        {"componentType": "cpu", "nbComponent": 1, "componentName": "Apple M2"}]}
    assert doc["task"]["algorithms"] == [{"foundationModelName": "/models/my-vit"}]  # no hub page, size, framework
    assert doc["task"]["dataset"] == [{"dataUsage": "input", "dataType": "image", "dataQuantity": 10,
                                       "source": "other"}]
    assert doc["quality"] == "low" and doc["measures"][0]["powerConsumption"] == pytest.approx(2.5e-5)


def test_imported_codecarbon_runs(validators, fixtures_dir):
    plan = plan_import([fixtures_dir / "v2.8.0_emissions.csv"], ImportOptions(inferences_per_run=1000))
    docs = [report(r, NOW) for r in plan.records]
    assert docs and all(errors(validators, d) == [] for d in docs)
    for r, d in zip(plan.records, docs):
        m = d["measures"][0]
        assert m["measurementMethod"] == "codecarbon" and m["powerConsumption"] == pytest.approx(r.energy_j / 3.6e6)
        assert d["task"]["nbRequest"] == 1000 and "quality" not in d


def test_one_file_or_a_folder(tmp_path, record, generation, validators):
    assert json.loads(to_json([generation], NOW)) == report(generation, NOW)
    two = [generation, record("fill-mask", "bert-base-uncased", 10.0, repeat=1, components=CPU)]
    with pytest.raises(ConfigError, match="2 runs make 2 BoAmps reports"):
        to_json(two)
    paths = write_reports(two, tmp_path / "out", NOW)
    assert sorted(p.name.rsplit("_", 1)[0] for p in paths) == [
        "fill-mask_bert-base-uncased_d_r1", "text-generation_qwen2.5-1.5b-instruct_wikitext_r0"]
    assert all(errors(validators, json.loads(p.read_text())) == [] for p in paths)
    with pytest.raises(ConfigError, match="no finished run"):
        write_reports([record("fill-mask", "m", 1.0, status="failed")], tmp_path / "none")
    with pytest.raises(ConfigError, match="1 run.s. record no hardware"):
        write_reports([*two, record("fill-mask", "m", 1.0)], tmp_path / "none")
    assert not (tmp_path / "none").exists()


# ---- the command, as docs/hub-and-result-files.md shows it ------------------------------------------------
def test_cli_boamps(tmp_path, record, generation, validators, capsys):
    store = tmp_path / "runs.db"
    with Store(store) as s:
        s.add(generation)
        s.add(record("fill-mask", "bert-base-uncased", 10.0, repeat=1, components=CPU))
    code, _, err = run_cli(capsys, "report", "--store", str(store), "--format", "boamps", "-o", str(tmp_path / "b"))
    assert code == 0 and "wrote 2 files" in err
    assert all(errors(validators, json.loads(p.read_text())) == [] for p in (tmp_path / "b").iterdir())
    code, _, err = run_cli(capsys, "report", "--store", str(store), "--format", "boamps", "--task", "fill-mask",
                           "-o", str(tmp_path / "one.json"))
    assert code == 0
    doc = json.loads((tmp_path / "one.json").read_text())
    assert doc["task"]["taskFamily"] == "fillMask" and errors(validators, doc) == []
    code, _, err = run_cli(capsys, "report", "--store", str(store), "--format", "boamps",
                           "-o", str(tmp_path / "x.json"))
    assert_one_error(code, err, "2 runs make 2 BoAmps reports", "-o FOLDER")
    assert not (tmp_path / "x.json").exists()
