"""docs/hub-and-result-files.md works as written: its `wattprint card`, `measure` and `report` commands and its
first Python snippet run against a store of the documented models, and write what the page says."""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path

import pytest
from huggingface_hub import ModelCard
from tests.cli.cli_helpers import run_cli

from wattprint.store.record import RunRecord
from wattprint.store.sqlite import Store

DOC = Path(__file__).resolve().parents[2] / "docs" / "hub-and-result-files.md"
TEXT = DOC.read_text()
CPU = [{"kind": "cpu", "name": "AMD EPYC", "method": "estimated", "source": "cpu-estimate", "energy_j": 2.0}]


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", TEXT, re.S)


def commands() -> list[list[str]]:
    """The page's wattprint commands, in order; bench is left out (the store below stands for its runs)."""
    out = []
    for block in blocks("sh"):
        for line in block.splitlines():
            argv = shlex.split(line, comments=True)
            if argv[:1] == ["wattprint"] and argv[1] != "bench":
                out.append(argv[1:])
    return out


def runs() -> list[RunRecord]:
    """Quick runs of the card's model and aienergyscore runs of the leaderboard example's model."""
    quick = [RunRecord(task="text-classification", model="distilbert-sst2", preset="quick", repeat=i,
                       status="finished", inferences=20, samples=20, energy_j=4.0 + i, energy_uncertainty_j=2.0,
                       cpu_energy_j=4.0 + i, duration_s=1.0, started_at=1.78e9 + i, finished_at=1.78e9 + 2 + i,
                       weights="random", workload="synthetic", dataset="imdb", model_kind="task-specific",
                       components=CPU, environment={"hardware": {"cpu_model": "AMD EPYC", "cpu_cores_logical": 2}})
             for i in range(2)]
    aies = [RunRecord(task="text-generation", model="qwen2.5-1.5b-instruct", preset="aienergyscore", repeat=i,
                      status="finished", inferences=10, samples=10, energy_j=300.0, gpu_energy_j=250.0,
                      cpu_energy_j=40.0, ram_energy_j=10.0, duration_s=5.0, started_at=1.78e9 + 10 + i,
                      finished_at=1.78e9 + 20 + i, weights="random", workload="synthetic", dataset="wikitext",
                      settings={"score": "gpu", "preprocess": "phase"}, preprocess_gpu_energy_j=20.0,
                      phase_energy_by_kind={"prefill": {"gpu": 50.0, "cpu": 5.0, "ram": 1.0}}, phases={"prefill": 56},
                      input_tokens=400, generated_tokens=100, energy_uncertainty_j=3.0,
                      components=[{"kind": "gpu", "name": "NVIDIA H200", "uuid": "GPU-0", "method": "counter",
                                   "source": "nvml"}],
                      environment={"gpus": [{"name": "NVIDIA H200", "uuid": "GPU-0", "memory_bytes": 150e9}]})
            for i in range(2)]
    return quick + aies


@pytest.fixture
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with Store(tmp_path / "runs.db") as s:
        for r in runs():
            s.add(r)
    (tmp_path / "distilbert-sst2").mkdir()
    (tmp_path / "distilbert-sst2" / "config.json").write_text("{}")
    (tmp_path / "train.py").write_text("sum(range(100000))\n")
    return tmp_path


def test_the_page_commands_run_as_written(here, capsys):
    cmds = commands()
    assert [c[0] for c in cmds] == ["card", "measure", "card", "report", "report"]
    for argv in cmds:
        argv = [sys.executable if a == "python" else a for a in argv]  # the test's own interpreter
        code, _, err = run_cli(capsys, *argv)
        assert code == 0, (argv, err)
    card = ModelCard((here / "distilbert-sst2" / "README.md").read_text())
    assert card.data.co2_eq_emissions["training_type"] == "fine-tuning"
    assert card.data.co2_eq_emissions["geographical_location"] == "France"
    assert card.text.count("## Energy") == 1 and "| text-classification | quick | imdb |" in card.text
    assert (here / "aies" / "text-generation" / "qwen2.5-1.5b-instruct" / "wikitext" / "GPU_ENERGY_WH.txt").is_file()
    reports = sorted((here / "boamps").iterdir())
    assert len(reports) == 4  # one per run
    assert {json.loads(p.read_text())["task"]["taskFamily"] for p in reports} == {"textClassification",
                                                                                   "textGeneration"}


def test_the_python_snippet_runs(here, capsys):
    exec(compile(blocks("python")[0], str(DOC), "exec"), {})
    out = capsys.readouterr().out
    assert out.strip() == f"{Path('distilbert-sst2') / 'README.md'} 2"
    assert "upload_folder" in blocks("python")[1]  # shown, never run: pushing is the user's own step


def test_a_live_measurement_goes_on_the_card(here):
    """`measurement=m.result` of wattprint.measure(), as the page says."""
    import wattprint
    from wattprint.report.card import write_card

    with wattprint.measure(idle_seconds=0) as m:
        sum(range(200000))
    write_card("distilbert-sst2", measurement=m.result, inferences=10)
    assert "Wh per 1,000 inferences" in (here / "distilbert-sst2" / "README.md").read_text()


@pytest.mark.slow
def test_real_runs_make_a_card_and_valid_boamps_reports(tmp_path, monkeypatch, capsys):
    """The page's bench line, shrunk to two inputs on this CPU, then its card and BoAmps commands."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from tests.report.test_boamps import BASE, DATA

    monkeypatch.chdir(tmp_path)
    bench = next(shlex.split(line) for b in blocks("sh") for line in b.splitlines() if "bench --preset quick" in line)
    code, _, err = run_cli(capsys, *bench[1:], "--samples", "2", "--repeats", "2", "--idle-seconds", "0",
                           "--device", "cpu", "--country", "FR")
    assert code == 0, err
    (tmp_path / "distilbert-sst2").mkdir()
    assert run_cli(capsys, "card", "./distilbert-sst2", "--store", "runs.db")[0] == 0
    text = (tmp_path / "distilbert-sst2" / "README.md").read_text()
    assert "| text-classification | quick (shrunk" in text or "| text-classification | quick |" in text
    assert "cpu estimated" in text or "cpu counter" in text
    assert run_cli(capsys, "report", "--store", "runs.db", "--format", "boamps", "-o", "boamps")[0] == 0
    schemas = {n: json.loads((DATA / f"{n}_schema.json").read_text())
               for n in ("report", "algorithm", "dataset", "measure", "hardware")}
    registry = Registry().with_resources([(BASE + f"{n}_schema.json", Resource.from_contents(s))
                                          for n, s in schemas.items() if n != "report"])
    validator = Draft202012Validator(schemas["report"], registry=registry)
    docs = [json.loads(p.read_text()) for p in (tmp_path / "boamps").iterdir()]
    assert len(docs) == 2 and all(not list(validator.iter_errors(d)) for d in docs)
    with Store(tmp_path / "runs.db", readonly=True) as s:
        energy = {r.run_id: r.energy_j for r in s.runs()}
    for d in docs:
        run_id = d["header"]["reportId"].replace("-", "")
        assert d["measures"][0]["powerConsumption"] == pytest.approx(energy[run_id] / 3.6e6)
        assert d["environment"]["country"] == "FR"
