"""The SD 1.x safety checker: built from the kept config with random weights only when the protocol asks
(the paper preset does), run in its own phase after decode, counted in the parameters, and said in the
record; pipelines that ship none (and runs that did not ask) do not run one."""

import pytest

from wattprint.models.catalog import get_entry
from wattprint.tasks.base import LoadSettings
from wattprint.tasks.registry import get_task

UNET = {"block_out_channels": [32, 64], "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"],
        "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"], "layers_per_block": 1, "attention_head_dim": 8,
        "cross_attention_dim": 32, "norm_num_groups": 8, "sample_size": 8}
VAE = {"block_out_channels": [16, 32], "down_block_types": ["DownEncoderBlock2D"] * 2,
       "up_block_types": ["UpDecoderBlock2D"] * 2, "layers_per_block": 1, "norm_num_groups": 8}
CLIP = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 64,
        "projection_dim": 32}
CHECKER = {"projection_dim": 32, "vision_config": {"hidden_size": 32, "num_hidden_layers": 1,
                                                   "num_attention_heads": 2, "intermediate_size": 64}}
TINY = {"config": {"unet": UNET, "vae": VAE, "text_encoder": CLIP, "safety_checker": CHECKER},
        "num_inference_steps": 1, "size": 32}


class Rec:
    def __init__(self):
        self.names = []

    def begin(self, name):
        self.names.append(name)

    def end(self, name):
        pass


def _load(name, **overrides):
    """The entry shrunk to a tiny pipeline (its checker shrunk too, where its kept config has one)."""
    entry = get_entry(name)
    tiny = dict(TINY, config={k: v for k, v in TINY["config"].items() if k in entry.config})
    task = get_task("image-generation")
    return task, task.load(entry, LoadSettings(weights="random", overrides={**tiny, **overrides}, seed=1))


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
def test_checker_runs_in_its_own_phase_only_when_asked():
    task, off = _load("sd-1.5")
    assert off.extra["safety_checker"] is False
    _, on = _load("sd-1.5", safety_checker=True)
    assert on.extra["safety_checker"] is True
    checker_params = sum(p.numel() for p in on.model.safety_checker.parameters())
    assert checker_params > 0 and on.parameters == off.parameters + checker_params
    inputs = task.make_inputs(on, task.datasets[0], "synthetic", 2, seed=0)
    phases = Rec()
    out = task.run_batch(on, inputs.items, phases, {})
    assert phases.names == ["encode", "denoise", "decode", "safety_check"]
    assert out.units["images"] == 2 and all(im.size == (32, 32) for im in out.outputs)
    phases = Rec()
    task.run_batch(off, inputs.items, phases, {})
    assert phases.names == ["encode", "denoise", "decode"]


@pytest.mark.slow
def test_a_pipeline_without_a_checker_runs_none_even_when_asked():
    entry = get_entry("dreamlike-photoreal-2.0")
    assert not entry.safety_checker and "safety_checker" not in entry.config
    task, loaded = _load("dreamlike-photoreal-2.0", safety_checker=True)
    assert loaded.extra["safety_checker"] is False
    phases = Rec()
    task.run_batch(loaded, ["a red boat on a lake"], phases, {})
    assert "safety_check" not in phases.names


def test_paper_preset_asks_for_the_checker_and_quick_does_not():
    from wattprint.bench.presets import load_preset

    paper = load_preset("paper").settings_for("image-generation", None)
    quick = load_preset("quick").settings_for("image-generation", None)
    assert paper.safety_checker is True and paper.load_overrides()["safety_checker"] is True
    assert quick.safety_checker is False and "safety_checker" not in quick.load_overrides()
    assert load_preset("paper").settings_for("text-generation", None).safety_checker is False


def test_record_says_whether_the_checker_ran():
    from wattprint.bench.workflow import JobContext
    from wattprint.store.record import RunRecord

    task, loaded = _load("sd-1.5", safety_checker=True)
    ctx = JobContext.__new__(JobContext)
    ctx.task, ctx.entry, ctx.loaded, ctx.inputs, ctx.notes = task, get_entry("sd-1.5"), loaded, None, []
    ctx.load_energy_j = ctx.load_duration_s = None
    record = RunRecord(task="image-generation", model="sd-1.5", preset="paper", repeat=0)
    ctx.fill_static(record)
    assert record.safety_checker is True
    assert RunRecord.from_dict(record.to_dict()).safety_checker is True
    assert RunRecord(task="text-generation", model="gpt2", preset="quick", repeat=0).safety_checker is None
