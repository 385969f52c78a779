"""Expanding a plan: tasks x models x datasets, aliases, named models, and the settings every job carries."""

import pytest

from wattprint.bench.plan import expand, plan_key
from wattprint.core.errors import ConfigError, UnknownNameError
from wattprint.tasks.registry import task_names


def test_quick_runs_every_task_with_its_smallest_model():
    from wattprint.models.catalog import smallest

    jobs = expand("quick")
    assert [j.task for j in jobs] == task_names()
    for j in jobs:
        assert j.model == smallest(j.task).name and j.repeats == 1 and j.preset == "quick"
    gen = next(j for j in jobs if j.task == "image-generation")
    assert gen.settings["params"] == {"num_inference_steps": 2, "height": 64, "width": 64} and gen.settings["shrunk"]


def test_paper_runs_three_datasets_per_task():
    jobs = expand("paper", ["text-classification"], ["distilbert-sst2"])
    assert [j.dataset for j in jobs] == ["imdb", "sst2", "rotten_tomatoes"]  # the study's, in its order
    assert all(j.settings["samples"] == 1000 and j.repeats == 10 for j in jobs)


def test_aliases_and_explicit_datasets():
    (job,) = expand("quick", ["text-to-image"], None, {"dataset": ["parti_prompts"]})
    assert (job.task, job.dataset) == ("image-generation", "parti_prompts")


def test_unknown_dataset_suggests():
    with pytest.raises(UnknownNameError, match="did you mean 'imdb'"):
        expand("quick", ["text-classification"], None, {"dataset": ["imbd"]})


def test_outside_model_needs_a_task():
    with pytest.raises(ConfigError, match="add --task"):
        expand("quick", None, ["someorg/some-model"])
    (job,) = expand("quick", ["text-classification"], ["someorg/some-model"])
    assert job.model == "someorg/some-model"


def test_plan_key_ignores_the_repeat_count_but_not_settings():
    (a,) = expand("quick", ["text-classification"], ["distilbert-sst2"], {"repeats": 2})
    (b,) = expand("quick", ["text-classification"], ["distilbert-sst2"], {"repeats": 5})
    (c,) = expand("quick", ["text-classification"], ["distilbert-sst2"], {"batch_size": 4})
    assert plan_key(a, 1) == plan_key(b, 1) != plan_key(a, 0)
    assert plan_key(a, 0) != plan_key(c, 0)


def test_trust_remote_code_only_from_the_flag():
    from wattprint.cli.bench import overrides_from_args
    from wattprint.cli.main import build_parser

    args = build_parser().parse_args(["bench"])
    assert overrides_from_args(args)["trust_remote_code"] is False
    args = build_parser().parse_args(["bench", "--trust-remote-code", "--samples", "auto", "--steps", "3"])
    o = overrides_from_args(args)
    assert o["trust_remote_code"] is True and o["samples"] == "auto" and o["params"] == {"num_inference_steps": 3}
