"""driver = "pipeline": each task that transformers 5 has a pipeline for runs through ``transformers.pipeline()``
built from the already loaded tiny model (random weights, CPU, no hub), gives outputs shaped as the direct
path's with the same work units, and keeps its generation phases; the others run direct and say why."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from wattprint.tasks import _pipeline
from wattprint.tasks.registry import get_task

BLOOMZ = {"config": {"hidden_size": 32, "n_layer": 1, "n_head": 2}}
FLAN = {"config": {"d_model": 32, "d_ff": 64, "num_layers": 1, "num_decoder_layers": 1, "num_heads": 2, "d_kv": 16}}

# task -> the transformers pipeline that runs it (threshold 0: random weights detect nothing at the default)
PIPELINED = {"text-classification": "text-classification", "token-classification": "token-classification",
             "fill-mask": "fill-mask", "text-generation": "text-generation",
             "image-classification": "image-classification", "object-detection": "object-detection"}
PARAMS = {"object-detection": {"threshold": 0.0}}


def _load(name, entry, overrides):
    from wattprint.models.catalog import get_entry
    from wattprint.tasks.base import LoadSettings

    task = get_task(name)
    return task, task.load(get_entry(entry), LoadSettings(weights="random", overrides=overrides, seed=1))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PIPELINED))
def test_pipeline_path_matches_the_direct_path(name, tiny, recording_phases):
    task, loaded = _load(name, *tiny[name][:2])
    params = {**tiny[name][2], **PARAMS.get(name, {})}
    items = task.make_inputs(loaded, task.datasets[0], "synthetic", 2, seed=3).items
    direct = task.run_batch(loaded, items, recording_phases(), params)
    driven, ran = _pipeline.drive(task, loaded, "pipeline")
    assert isinstance(driven, _pipeline.PipelineDriven)
    assert ran.startswith(f"pipeline: transformers '{PIPELINED[name]}'") and "inside the measured window" in ran
    phases = recording_phases()
    piped = driven.run_batch(loaded, items, phases, params)
    assert len(piped.outputs) == 2 and piped.units == direct.units
    if name == "object-detection":  # the pipeline gives whole-pixel boxes: the same detections, boxes within 1 px
        assert piped.units["detections"] > 0 and set(piped.outputs[0][0]) == {"label", "score", "box"}
        for got, want in zip(sum(piped.outputs, []), sum(direct.outputs, [])):
            assert got["label"] == want["label"] and got["score"] == pytest.approx(want["score"], abs=1e-3)
            assert got["box"] == pytest.approx(want["box"], abs=1.0)
    else:  # same model, same inputs: the same labels, tags, tokens
        assert piped.outputs == direct.outputs
    assert [type(o) for o in piped.outputs] == [type(o) for o in direct.outputs]
    generative = name == "text-generation"
    assert [n for kind, n in phases.events if kind == "begin"] == (["prefill", "decode"] if generative else [])
    if "input_tokens" in direct.units:
        assert piped.flops == direct.flops and piped.flops_method == direct.flops_method


@pytest.mark.slow
def test_pipeline_generation_stops_at_eos_or_runs_exact(tiny):
    task, loaded = _load("text-generation", *tiny["text-generation"][:2])
    items = task.make_inputs(loaded, task.datasets[0], "synthetic", 1, seed=3).items
    driven, _ = _pipeline.drive(task, loaded, "pipeline")
    free = {"max_new_tokens": 7, "exact_new_tokens": False}
    assert driven.run_batch(loaded, items, _Null(), free).units == task.run_batch(loaded, items, _Null(), free).units
    assert driven.run_batch(loaded, items, _Null(), {"max_new_tokens": 5}).units["generated_tokens"] == 5
    pair = task.make_inputs(loaded, task.datasets[0], "synthetic", 2, seed=5).items
    loaded.processor.padding_side = "right"  # the pipeline path pads prompts on the left itself
    piped = driven.run_batch(loaded, pair, _Null(), {"max_new_tokens": 4})
    assert piped.outputs == task.run_batch(loaded, pair, _Null(), {"max_new_tokens": 4}).outputs


class _Null:
    def begin(self, name):
        pass

    def end(self, name):
        pass


@pytest.mark.slow
@pytest.mark.parametrize("name,words", [("text-classification", 1), ("question-answering", 4),
                                        ("summarization", 3)])
def test_bloomz_zero_shot_runs_through_text_generation(name, words):
    """BLOOMZ answering a task zero-shot goes through the text-generation pipeline, as the study ran it."""
    task, loaded = _load(name, "bloomz-560m", BLOOMZ)
    items = task.make_inputs(loaded, task.datasets[0], "synthetic", 2, seed=0).items
    driven, ran = _pipeline.drive(task, loaded, "pipeline")
    assert ran.startswith("pipeline: transformers 'text-generation'")
    params = {"prompt": "study", "decoder_max_new_tokens": words}
    result = driven.run_batch(loaded, items, _Null(), params)
    direct = task.run_batch(loaded, items, _Null(), params)
    assert result.units == direct.units and result.units["generated_tokens"] == 2 * words
    assert len(result.outputs) == 2 and all(isinstance(o, str) for o in result.outputs)


@pytest.mark.parametrize("name,entry,overrides,why", [
    ("question-answering", "roberta-base-squad2", None, "no 'question-answering' pipeline"),
    ("summarization", "bart-large-cnn", None, "no 'summarization' pipeline"),
    ("text-classification", "flan-t5-small", FLAN, "no 'text2text-generation' pipeline"),
    ("image-captioning", "blip-captioning-base", None, "no 'image-to-text' pipeline"),
    ("sentence-similarity", "all-mpnet-base-v2", None, "no pipeline path for sentence-similarity"),
])
def test_no_fitting_pipeline_falls_back_to_direct_with_the_reason(name, entry, overrides, why, tiny):
    task, loaded = _load(name, entry, overrides or tiny[name][1])
    driven, ran = _pipeline.drive(task, loaded, "pipeline")
    assert driven is task
    assert ran.startswith("direct (pipeline asked: ") and why in ran


def test_direct_driver_never_builds_a_pipeline():
    class Task:
        def pipeline_task(self, loaded):
            raise AssertionError("not asked under driver = direct")

    task = Task()
    assert _pipeline.drive(task, None, "direct") == (task, "direct")


def test_image_generation_already_is_a_diffusers_pipeline():
    from types import SimpleNamespace

    task = get_task("image-generation")
    driven, ran = _pipeline.drive(task, SimpleNamespace(model=object()), "pipeline")
    assert driven is task and ran.startswith("pipeline: diffusers")


def test_a_pipeline_that_refuses_the_model_falls_back(monkeypatch):
    from types import SimpleNamespace

    class Task:
        def pipeline_task(self, loaded):
            return "text-classification", ""

        def pipeline_parts(self, loaded):
            return {}

    def refuse(loaded, name, **parts):
        raise ValueError("Unrecognized configuration class\nmore")

    monkeypatch.setattr(_pipeline, "build", refuse)
    task = Task()
    driven, ran = _pipeline.drive(task, SimpleNamespace(), "pipeline")
    assert driven is task
    assert ran == ("direct (pipeline asked: transformers' 'text-classification' pipeline refused this model: "
                   "Unrecognized configuration class)")


def test_driver_setting_is_checked_with_close_matches():
    from wattprint.bench.settings import BenchSettings
    from wattprint.core.errors import UnknownNameError

    assert BenchSettings().driver == "direct"
    assert BenchSettings(driver="pipeline").driver == "pipeline"
    with pytest.raises(UnknownNameError, match="pipeline"):
        BenchSettings(driver="pipelin")


@pytest.mark.slow
def test_runner_records_the_driver_and_a_fallback(tmp_path):
    """A paper-preset job runs through the pipeline and its records say so; a task without one says why."""
    sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))
    from tiny import TINY_BERT, tiny_model

    from wattprint.bench.plan import expand
    from wattprint.bench.runner import run_job
    from wattprint.meter.meter import Meter

    small = {"weights": "random", "samples": 2, "repeats": 1, "warmup_batches": 1, "idle_seconds": 0,
             "device": "cpu", "dataset": ["imdb"]}
    bert = tiny_model(tmp_path, "bert", TINY_BERT)
    (job,) = expand("paper", ["text-classification"], [bert], small)
    (r,) = run_job(job, meter_factory=lambda **kw: Meter(gpus=None, cpu=True, ram=True, sampler_thread=False))
    assert r.status == "finished" and r.settings["driver"] == "pipeline"
    assert r.driver.startswith("pipeline: transformers 'text-classification'")
    assert r.inferences == 2 and r.input_tokens > 0 and r.energy_j > 0
    assert not any(w.startswith("driver:") for w in r.warnings)
    (qa_job,) = expand("paper", ["question-answering"], [bert], {**small, "dataset": ["squad"]})
    (q,) = run_job(qa_job, meter_factory=lambda **kw: Meter(gpus=None, cpu=True, ram=True, sampler_thread=False))
    assert q.status == "finished" and q.inferences == 2
    assert q.driver.startswith("direct (pipeline asked: transformers ") and "'question-answering'" in q.driver
    assert f"driver: {q.driver}" in q.warnings


def test_driver_flag_overrides_the_preset():
    import argparse

    from wattprint.bench.plan import expand
    from wattprint.cli.bench import add_arguments, overrides_from_args

    p = argparse.ArgumentParser()
    add_arguments(p)
    direct = overrides_from_args(p.parse_args(["--preset", "paper", "--driver", "direct"]))
    assert direct["driver"] == "direct"
    assert "driver" not in overrides_from_args(p.parse_args(["--preset", "paper"]))
    jobs = expand("paper", ["fill-mask"], ["distilbert-base-uncased"], {})
    assert {j.settings["driver"] for j in jobs} == {"pipeline"}
    jobs = expand("paper", ["fill-mask"], ["distilbert-base-uncased"], direct)
    assert {j.settings["driver"] for j in jobs} == {"direct"}
    assert {j.settings["driver"] for j in expand("quick", ["fill-mask"], None, {})} == {"direct"}


@pytest.mark.slow
def test_fill_mask_pipeline_gives_none_where_truncation_cut_the_mask(tiny):
    from wattprint.tasks.fill_mask import MASK

    task, loaded = _load("fill-mask", *tiny["fill-mask"][:2])
    batch = [" ".join(["word"] * 700) + " " + MASK, "a short " + MASK]
    direct = task.run_batch(loaded, batch, _Null(), {})
    driven, _ = _pipeline.drive(task, loaded, "pipeline")
    piped = driven.run_batch(loaded, batch, _Null(), {})
    assert piped.outputs[0] is None and direct.outputs[0] is None
    assert piped.outputs[1] == direct.outputs[1] and piped.units["inferences"] == 2
    assert 0 < piped.units["input_tokens"] < direct.units["input_tokens"]  # the cut text never reached the model
