"""The SD 1.x safety checker: built from the kept config with random weights only when the protocol asks
(the paper preset does), run in its own phase after decode, counted in the parameters, and said in the
record; pipelines that ship none (and runs that did not ask) do not run one."""

import pytest

from wattprint.models.catalog import get_entry
from wattprint.tasks.base import LoadSettings
from wattprint.tasks.registry import get_task

CHECKER = {"projection_dim": 32, "vision_config": {"hidden_size": 32, "num_hidden_layers": 1,
                                                   "num_attention_heads": 2, "intermediate_size": 64}}


@pytest.fixture
def load(tiny_diffusion):
    """Load a catalog pipeline shrunk to a tiny one (its checker shrunk too, where its kept config has one), with
    1 step at 32x32 and the given task params."""

    def load(name, **params):
        entry = get_entry(name)
        parts = {**tiny_diffusion, "safety_checker": CHECKER}
        tiny = {"config": {k: v for k, v in parts.items() if k in entry.config}, "size": 32}
        task = get_task("image-generation")
        settings = LoadSettings(weights="random", overrides=tiny, params={"num_inference_steps": 1, **params}, seed=1)
        return task, task.load(entry, settings)

    return load


def test_checker_parameters_match_the_study_difference():
    """The kept checker config builds to the 303,981,588 parameters by which the study's SD 1.x counts exceed
    the pipeline's (ViT-L/14 vision tower 303,179,776 + projection 786,432 + 20 concept embeddings)."""
    import torch

    from wattprint.models.build import build_safety_checker, count_parameters

    cfg = get_entry("sd-1.4").config
    with torch.device("meta"):
        checker = build_safety_checker(cfg)
    assert count_parameters(checker) == 303_981_588
    assert count_parameters(checker.vision_model) == 303_179_776


@pytest.mark.slow
def test_checker_runs_in_its_own_phase_only_when_asked(load, recording_phases):
    task, off = load("sd-1.5")
    assert off.extra["safety_checker"] is False
    _, on = load("sd-1.5", safety_checker=True)
    assert on.extra["safety_checker"] is True
    checker_params = sum(p.numel() for p in on.model.safety_checker.parameters())
    assert checker_params > 0 and on.parameters == off.parameters + checker_params
    inputs = task.make_inputs(on, task.datasets[0], "synthetic", 2, seed=0)
    phases = recording_phases()
    out = task.run_batch(on, inputs.items, phases, {})
    assert phases.names == ["encode", "denoise", "decode", "safety_check"]
    assert out.units["images"] == 2 and all(im.size == (32, 32) for im in out.outputs)
    phases = recording_phases()
    task.run_batch(off, inputs.items, phases, {})
    assert phases.names == ["encode", "denoise", "decode"]


@pytest.mark.slow
def test_a_pipeline_without_a_checker_runs_none_even_when_asked(load, recording_phases):
    entry = get_entry("dreamlike-photoreal-2.0")
    assert not entry.safety_checker and "safety_checker" not in entry.config
    task, loaded = load("dreamlike-photoreal-2.0", safety_checker=True)
    assert loaded.extra["safety_checker"] is False
    phases = recording_phases()
    task.run_batch(loaded, ["a red boat on a lake"], phases, {})
    assert "safety_check" not in phases.names


def test_paper_preset_asks_for_the_checker_and_quick_does_not():
    from wattprint.bench.presets import load_preset

    paper = load_preset("paper").settings_for("image-generation", None)
    quick = load_preset("quick").settings_for("image-generation", None)
    assert dict(paper.params)["safety_checker"] is True
    assert "safety_checker" not in dict(quick.params) and get_task("image-generation").default_params()[
        "safety_checker"] is False
    assert "safety_checker" not in dict(load_preset("paper").settings_for("text-generation", None).params)


def test_record_says_whether_the_checker_ran(load):
    from wattprint.bench.workflow import JobContext
    from wattprint.store.record import RunRecord

    task, loaded = load("sd-1.5", safety_checker=True)
    ctx = JobContext.__new__(JobContext)
    ctx.task, ctx.entry, ctx.loaded, ctx.inputs, ctx.notes = task, get_entry("sd-1.5"), loaded, None, []
    ctx.load_energy_j = ctx.load_duration_s = None
    record = RunRecord(task="image-generation", model="sd-1.5", preset="paper", repeat=0)
    ctx.fill_static(record)
    assert record.safety_checker is True
    assert RunRecord.from_dict(record.to_dict()).safety_checker is True
    assert RunRecord(task="text-generation", model="gpt2", preset="quick", repeat=0).safety_checker is None
