"""Task parameters through presets, flags and sweep plans: a flag sets the parameter on each selected task that
declares it, a parameter no selected task takes is an error, and old top-level keys move into ``params``."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import pytest

from wattprint.bench.plan import expand
from wattprint.bench.presets import load_preset
from wattprint.core.errors import ConfigError, UnknownNameError


def _params(jobs, task):
    return next(j.settings["params"] for j in jobs if j.task == task)


def test_a_flag_reaches_only_the_tasks_that_declare_it():
    jobs = expand("quick", None, None, {"params": {"num_inference_steps": 3, "max_new_tokens": 12}})
    assert _params(jobs, "image-generation") == {"num_inference_steps": 3, "height": 64, "width": 64}
    assert _params(jobs, "text-generation") == {"max_new_tokens": 12}
    assert _params(jobs, "summarization") == {"min_new_tokens": 10, "max_new_tokens": 12}  # the preset's min kept
    assert _params(jobs, "text-classification") == {"max_new_tokens": 12}
    assert _params(jobs, "token-classification") == {}
    assert _params(jobs, "fill-mask") == {}


def test_a_flag_that_breaks_a_task_bound_is_one_clear_error():
    # quick's summarization asks for at least 10 new tokens: --max-new-tokens 7 cannot hold that
    with pytest.raises(ConfigError, match="summarization parameter min_new_tokens = 10 exceeds max_new_tokens = 7"):
        expand("quick", ["summarization"], None, {"params": {"max_new_tokens": 7}})


def test_a_flag_no_selected_task_takes_is_an_error_naming_those_that_do():
    with pytest.raises(ConfigError) as e:
        expand("quick", ["text-classification", "fill-mask"], None, {"params": {"num_inference_steps": 2}})
    assert e.value.message == ("num_inference_steps, set by the flags, is not a parameter of fill-mask, "
                               "text-classification")
    assert e.value.fix.startswith("num_inference_steps is a parameter of image-generation: add --task image-generation")


def test_an_unknown_parameter_gets_close_matches():
    with pytest.raises(UnknownNameError, match="unknown task parameter 'prompt_wrds'; did you mean 'prompt_words'") \
            as e:
        expand("quick", ["text-generation"], None, {"params": {"prompt_wrds": 20}})
    assert e.value.fix == "parameters of text-generation: exact_new_tokens, max_new_tokens, prompt_words"
    with pytest.raises(UnknownNameError) as e:
        expand("quick", None, None, {"params": {"prompt_wrds": 20}})
    assert e.value.fix == "`wattprint tasks --params` lists each task's"


def test_a_setting_given_as_a_parameter_says_so():
    with pytest.raises(ConfigError, match="seed, set by the flags as a task parameter, is a benchmark setting"):
        expand("quick", ["text-generation"], None, {"params": {"seed": 3}})


def test_a_bad_value_is_refused_for_the_task_that_takes_it():
    with pytest.raises(ConfigError, match="text-classification parameter prompt = 'mine' is not one of: own, study"):
        expand("quick", ["text-classification"], None, {"params": {"prompt": "mine"}})


def test_none_resets_a_preset_value_to_the_task_default():
    (job, *_) = expand("paper", ["text-generation"], ["distilgpt2"], {"params": {"prompt_words": None}})
    assert job.settings["params"] == {"max_new_tokens": 10, "exact_new_tokens": False}


def test_old_top_level_keys_in_a_preset_move_into_params(tmp_path):
    f = tmp_path / "old.toml"
    f.write_text('[tasks.image-generation]\nnum_inference_steps = 3\nsafety_checker = true\n'
                 '[tasks.summarization]\nmax_new_tokens = 20\nparams = {prompt = "study"}\n')
    p = load_preset(str(f))
    assert dict(p.settings_for("image-generation").params) == {"num_inference_steps": 3, "safety_checker": True}
    assert dict(p.settings_for("summarization").params) == {"max_new_tokens": 20, "prompt": "study"}


BAD_PRESETS = [
    # fill-mask always masks one word; no task reads mask_tokens
    ("[tasks.fill-mask]\nmask_tokens = 1\n", UnknownNameError, "unknown parameter of task fill-mask 'mask_tokens'"),
    # [defaults] params reach summarization, whose min_new_tokens is 10
    ("[defaults]\nparams = {max_new_tokens = 5}\n", ConfigError,
     "summarization parameter min_new_tokens = 10 exceeds max_new_tokens = 5"),
    ("[defaults]\nparams = {max_new_tokenz = 5}\n", UnknownNameError, "did you mean 'max_new_tokens'"),
    ("[tasks.text-generaton]\nrepeats = 2\n", UnknownNameError, "did you mean 'text-generation'"),
    ("[tasks.image-generation]\nparams = {height = 0}\n", ConfigError,
     "image-generation parameter height = 0 is not a whole number >= 1, or none"),
]


@pytest.mark.parametrize("text,error,match", BAD_PRESETS, ids=[t.split("\n")[1] for t, _, _ in BAD_PRESETS])
def test_a_bad_preset_file_is_refused_when_it_loads(tmp_path, text, error, match):
    f = tmp_path / "mine.toml"
    f.write_text(text)
    with pytest.raises(error, match=match):
        load_preset(str(f))


def test_a_task_parameter_written_as_a_setting_says_where_it_goes(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text("[tasks.text-generation]\nprompt_words = 20\n")
    with pytest.raises(UnknownNameError) as e:
        load_preset(str(f))
    assert "unknown setting 'prompt_words'" in e.value.message
    assert e.value.fix == ("prompt_words is a parameter of text-generation, image-generation: "
                           "write params = {prompt_words = ...}")


def test_defaults_params_apply_to_the_tasks_that_declare_them(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text("[defaults]\nparams = {max_new_tokens = 12}\n")
    p = load_preset(str(f))
    assert dict(p.settings_for("text-generation").params) == {"max_new_tokens": 12}
    assert dict(p.settings_for("token-classification").params) == {}


def test_a_sweep_plan_with_old_keys_and_crossed_params():
    from wattprint.cluster.plan import expand_plan, plan_from_dict

    plan = plan_from_dict({"presets": ["quick"], "tasks": ["text-generation", "image-generation"],
                           "settings": {"num_inference_steps": 3}, "cross": {"max_new_tokens": [4, 8]}})
    jobs = expand_plan(plan)
    assert sorted(j.label for j in jobs) == [
        "image-generation/bk-sdm-tiny {'max_new_tokens': None}",
        "text-generation/distilgpt2 {'max_new_tokens': 4}", "text-generation/distilgpt2 {'max_new_tokens': 8}"]
    gen = [j.job for j in jobs if j.job.task == "image-generation"]
    assert gen[0].settings["params"]["num_inference_steps"] == 3
    plan = plan_from_dict({"presets": ["quick"], "tasks": ["text-generation"],
                           "cross": {"params": [{"prompt_words": 10}, {"prompt_words": 20}]}})
    assert sorted(j.job.settings["params"]["prompt_words"] for j in expand_plan(plan)) == [10, 20]
    plan = plan_from_dict({"presets": ["quick"], "tasks": ["fill-mask"], "settings": {"max_new_tokens": 3}})
    with pytest.raises(ConfigError, match="max_new_tokens, set by the plan's settings, is not a parameter of fill"):
        expand_plan(plan)


def test_the_loader_gets_the_params_read_at_load_time(monkeypatch):
    """Image size, steps and the safety checker reach ``task.load`` in ``LoadSettings.params``; the rest do not."""
    from wattprint.bench.progress import make_progress
    from wattprint.bench.workflow import JobContext, load_model
    from wattprint.tasks.image_generation import ImageGeneration

    seen = []
    monkeypatch.setattr(ImageGeneration, "load", lambda self, entry, settings: seen.append(settings) or "loaded")
    (job, *_) = expand("paper", ["image-generation"], ["sd-1.5"],
                       {"params": {"height": 256, "width": 256, "guidance_scale": 5.0}})
    from wattprint.meter.meter import Meter

    with contextlib.closing(Meter(gpus=None)) as meter:
        ctx = JobContext(job=job, settings=job.resolved, store=None, on_record=None, progress=make_progress(False),
                         carbon=None, location=None, environment={}, sync=lambda: None, meter=meter)
        load_model(ctx)
    assert ctx.loaded == "loaded"
    assert seen[0].params == {"height": 256, "width": 256, "safety_checker": True}
    assert ctx.settings.task_params() == {"seed": 0, "height": 256, "width": 256, "guidance_scale": 5.0,
                                          "safety_checker": True, "prompt_words": 50}


@pytest.mark.parametrize("name", ["quick", "paper", "aienergyscore"])
def test_shipped_presets_set_task_parameters_in_params(name):
    tomllib = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")
    from wattprint.store.record import LEGACY_PARAMS

    data = tomllib.loads(Path(load_preset(name).path).read_text())
    for section in [data.get("defaults", {}), *data.get("tasks", {}).values()]:
        assert not set(LEGACY_PARAMS) & set(section), (name, section)
