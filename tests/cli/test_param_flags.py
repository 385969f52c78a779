"""`wattprint bench` task-parameter flags: --param NAME=VALUE and the short forms (--max-new-tokens, --steps...)
set the parameters of the selected tasks that take them; anything else is one line with the fix, before the
store is created."""

from __future__ import annotations

import argparse

import pytest
from cli_helpers import assert_one_error

from wattprint.cli.args import param_pair
from wattprint.cli.bench import overrides_from_args
from wattprint.cli.main import build_parser


@pytest.mark.parametrize("text,pair", [
    ("prompt_words=20", ("prompt_words", 20)), ("guidance_scale=2.5", ("guidance_scale", 2.5)),
    ("exact_new_tokens=false", ("exact_new_tokens", False)), ("prompt=study", ("prompt", "study")),
    ('prompt="study"', ("prompt", "study")), (" prompt_words = none ", ("prompt_words", None)),
])
def test_param_values_read_as_toml_reads_them(text, pair):
    assert param_pair(text) == pair


@pytest.mark.parametrize("text", ["prompt_words", "=3", "prompt words=3", "prompt_words="])
def test_a_malformed_param_is_refused(text):
    with pytest.raises(argparse.ArgumentTypeError, match="expected NAME=VALUE"):
        param_pair(text)


def test_short_flags_and_param_become_task_params():
    args = build_parser().parse_args(["bench", "--param", "prompt_words=20", "--param", "max_new_tokens=3",
                                      "--max-new-tokens", "5", "--steps", "2", "--width", "64"])
    assert overrides_from_args(args)["params"] == {"prompt_words": 20, "max_new_tokens": 5,  # the short flag wins
                                                   "num_inference_steps": 2, "width": 64}
    assert "params" not in overrides_from_args(build_parser().parse_args(["bench"]))


def test_a_flag_no_selected_task_takes_is_one_line(cli, tmp_path):
    store = tmp_path / "w.db"
    code, _, err = cli("bench", "--task", "text-classification", "--steps", "2", "--store", str(store))
    assert_one_error(code, err, "num_inference_steps, set by the flags, is not a parameter of text-classification",
                     "add --task image-generation")
    assert not store.exists()


@pytest.mark.parametrize("argv,needle", [
    (["--param", "max_new_token=4"], "did you mean 'max_new_tokens'"),
    (["--param", "max_new_tokens=0"], "text-generation parameter max_new_tokens = 0 is not a whole number >= 1"),
    (["--param", "exact_new_tokens=maybe"], "is not true or false"),
    (["--param", "prompt_words"], "expected NAME=VALUE"),
])
def test_bad_params_are_one_line(cli, tmp_path, argv, needle):
    store = tmp_path / "w.db"
    code, _, err = cli("bench", "--task", "text-generation", *argv, "--store", str(store))
    assert_one_error(code, err, needle)
    assert not store.exists()


def test_models_takes_every_selection_a_preset_can_name_study_too():
    from wattprint.bench.settings import MODEL_SELECTIONS
    from wattprint.cli.main import build_parser

    for rule in MODEL_SELECTIONS:
        args = build_parser().parse_args(["bench", "--models", rule])
        assert args.models_rule == rule
