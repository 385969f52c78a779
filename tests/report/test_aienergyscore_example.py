"""The AI Energy Score files wattprint writes have the structure of the format's published example: the real
``benchmark_report.json`` committed to huggingface/AIEnergyScore (vendored in tests/data/aienergyscore with its
source): the same phases, keys, nesting, value types and units."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.cli.cli_helpers import run_cli

from wattprint.store.record import RunRecord
from wattprint.store.sqlite import Store

EXAMPLE = json.loads((Path(__file__).resolve().parents[1] / "data" / "aienergyscore" / "benchmark_report.json")
                     .read_text())


def structure(node):
    """Keys and nesting, the type of every value, and unit strings as they are (lists by their first item)."""
    if isinstance(node, dict):
        return {k: (v if k == "unit" else structure(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [structure(node[0])] if node else []
    return "number" if isinstance(node, (int, float)) else type(node).__name__


def run(repeat: int, task: str = "text-generation") -> RunRecord:
    """A finished aienergyscore repeat with a measured preprocess phase and, for generation, a prefill phase."""
    r = RunRecord(task=task, model="distilgpt2", preset="aienergyscore", repeat=repeat, status="finished",
                  dataset="wikitext", samples=1000, inferences=1000, weights="random", workload="synthetic",
                  started_at=1.7e9 + repeat, finished_at=1.7e9 + 60 + repeat, duration_s=30.0,
                  settings={"score": "gpu", "preprocess": "phase"}, gpu_energy_j=1800.0, cpu_energy_j=360.0,
                  ram_energy_j=36.0, energy_j=2196.0, preprocess_gpu_energy_j=720.0, preprocess_cpu_energy_j=250.0,
                  preprocess_ram_energy_j=30.0, preprocess_energy_j=1000.0,
                  components=[{"kind": "gpu", "method": "counter"}])
    if task == "text-generation":
        r.phases = {"prefill": 700.0}
        r.phase_energy_by_kind = {"prefill": {"gpu": 600.0, "cpu": 90.0, "ram": 10.0}}
        r.input_tokens, r.generated_tokens = 120_000, 10_000
    return r


@pytest.fixture
def written(tmp_path, capsys):
    """`wattprint report --format aienergyscore -o DIR`, as docs/hub-and-result-files.md shows it."""
    store = tmp_path / "runs.db"
    with Store(store) as s:
        for r in [run(0), run(1), run(0, "text-classification")]:
            s.add(r)
    code, _, err = run_cli(capsys, "report", "--store", str(store), "--format", "aienergyscore",
                           "-o", str(tmp_path / "aies"))
    assert code == 0, err
    return tmp_path / "aies"


def test_generation_report_has_the_example_structure(written):
    mine = json.loads((written / "text-generation" / "distilgpt2" / "wikitext" / "benchmark_report.json").read_text())
    assert structure(mine) == structure(EXAMPLE)
    assert mine["prefill"]["energy"]["gpu"] == pytest.approx(600.0 / 3.6e6)  # kWh, as the example's unit says
    assert len(mine["decode"]["measures"]) == 2  # one per repeat, as the example has one per iteration


def test_other_tasks_have_the_example_phase_structure(written):
    mine = json.loads((written / "text-classification" / "distilgpt2" / "wikitext" / "benchmark_report.json")
                      .read_text())
    assert set(mine) == {"preprocess", "forward"}
    assert structure(mine["preprocess"]) == structure(EXAMPLE["preprocess"])
    # forward is shaped like the example's prefill, counted in samples (optimum-benchmark's inference unit)
    expected = structure(EXAMPLE["prefill"])
    expected["efficiency"]["unit"] = "samples/kWh"
    assert structure(mine["forward"]) == expected
    summary = json.loads((written / "text-classification" / "distilgpt2" / "wikitext" / "GPU_ENERGY_SUMMARY.json")
                         .read_text())
    assert summary == {"units": "Wh", "total": 0.7, "forward_wh": 0.5, "preprocess_wh": 0.2}
