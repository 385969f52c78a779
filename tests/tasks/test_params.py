"""Task parameters: each task declares what it reads (type, range, default, help), and a value is checked
against that declaration in one line that names the task and the fix."""

from __future__ import annotations

import pytest

from wattprint.core.errors import ConfigError, UnknownNameError
from wattprint.tasks.params import Param, check_params, choice, count, flag
from wattprint.tasks.registry import get_task, task_names

SPECS = (
    count("max_new_tokens", 10, "new tokens at most"),
    count("min_new_tokens", None, "new tokens at least", optional=True, at_most="max_new_tokens"),
    Param("guidance_scale", "float", 7.5, "guidance", minimum=0.0),
    choice("prompt", "own", ("own", "study"), "which prompt"),
    flag("exact_new_tokens", True, "exactly max_new_tokens"),
)


@pytest.mark.parametrize("name", task_names())
def test_every_task_declares_consistent_params(name):
    task = get_task(name)
    names = [p.name for p in task.param_specs]
    assert len(names) == len(set(names))
    for p in task.param_specs:
        assert p.help and p.kind in ("int", "float", "bool", "str")
        assert p.at_most is None or p.at_most in names
    # the defaults are valid values of their own declarations, and default_params is derived from them
    assert task.check_params(task.default_params()) == task.default_params()
    assert task.default_params() == {p.name: p.default for p in task.param_specs}


def test_the_declarations_match_what_the_tasks_read():
    """The defaults the tasks had before they were declarations, and the ones that moved out of the settings."""
    assert get_task("text-generation").default_params() == {
        "max_new_tokens": 10, "exact_new_tokens": True, "prompt_words": None}
    assert get_task("summarization").default_params() == {
        "min_new_tokens": 10, "max_new_tokens": 15, "forward_only": False, "prompt": "own"}
    gen = get_task("image-generation")
    assert gen.default_params() == {"guidance_scale": 7.5, "prompt_words": None, "num_inference_steps": None,
                                    "height": None, "width": None, "safety_checker": False}
    assert {p.name for p in gen.param_specs if p.load} == {"num_inference_steps", "height", "width",
                                                            "safety_checker"}
    assert get_task("token-classification").default_params() == {}


def test_values_are_typed_by_their_declaration():
    out = check_params("t", SPECS, {"max_new_tokens": 12.0, "guidance_scale": 7, "prompt": "study",
                                    "exact_new_tokens": False, "min_new_tokens": None})
    assert out == {"max_new_tokens": 12, "guidance_scale": 7.0, "prompt": "study", "exact_new_tokens": False,
                   "min_new_tokens": None}
    assert isinstance(out["max_new_tokens"], int) and isinstance(out["guidance_scale"], float)


@pytest.mark.parametrize("name,value,needle", [
    ("max_new_tokens", 0, "a whole number >= 1"),
    ("max_new_tokens", 2.5, "a whole number >= 1"),
    ("max_new_tokens", "10", "a whole number >= 1"),
    ("max_new_tokens", True, "a whole number >= 1"),  # a bool is not a count
    ("max_new_tokens", None, "a whole number >= 1"),  # not optional
    ("min_new_tokens", -1, "a whole number >= 1, or none"),
    ("guidance_scale", float("nan"), "a finite number >= 0"),
    ("guidance_scale", float("inf"), "a finite number >= 0"),
    ("guidance_scale", -1.0, "a finite number >= 0"),
    ("prompt", "mine", "one of: own, study"),
    ("exact_new_tokens", "yes", "true or false"),
    ("exact_new_tokens", 1, "true or false"),
])
def test_bad_values_are_one_line_naming_the_task_and_the_fix(name, value, needle):
    with pytest.raises(ConfigError) as e:
        check_params("text-generation", SPECS, {name: value})
    assert f"text-generation parameter {name} = {value!r} is not {needle}" in e.value.message
    assert "\n" not in e.value.message and e.value.fix and e.value.fix.startswith(f"set {name} to {needle}")


def test_min_may_not_exceed_max_with_defaults_filling_in():
    assert check_params("t", SPECS, {"min_new_tokens": 10}) == {"min_new_tokens": 10}  # max 10 by default
    with pytest.raises(ConfigError, match="min_new_tokens = 11 exceeds max_new_tokens = 10") as e:
        check_params("t", SPECS, {"min_new_tokens": 11})
    assert "raise max_new_tokens" in e.value.fix
    with pytest.raises(ConfigError, match="min_new_tokens = 10 exceeds max_new_tokens = 5"):
        get_task("summarization").check_params({"max_new_tokens": 5})  # summarization's min is 10


def test_unknown_name_gets_close_matches_and_the_list():
    with pytest.raises(UnknownNameError) as e:
        get_task("text-generation").check_params({"max_new_token": 5})
    assert "unknown parameter of task text-generation 'max_new_token'; did you mean 'max_new_tokens'" in e.value.message
    assert "text-generation takes: exact_new_tokens, max_new_tokens, prompt_words" in e.value.fix
    with pytest.raises(UnknownNameError, match="no parameters"):
        get_task("token-classification").check_params({"threshold": 0.5})


def test_a_declaration_needs_a_known_kind():
    with pytest.raises(ValueError, match="kind 'list'"):
        Param("x", "list", [], "a list")


def test_a_per_dataset_param_takes_a_table_checked_entry_by_entry():
    words = count("prompt_words", None, "first words", optional=True, per_dataset=True)
    assert words.check("fill-mask", {"c4": 20, "oscar": 20.0}) == {"c4": 20, "oscar": 20}
    assert words.check("fill-mask", 20) == 20
    with pytest.raises(ConfigError, match="prompt_words = 0 is not a whole number >= 1, or none, or a table"):
        words.check("fill-mask", {"c4": 0})
    with pytest.raises(ConfigError, match="is not a whole number >= 1"):
        SPECS[0].check("t", {"c4": 20})  # a plain parameter takes no table


def test_a_size_is_a_width_and_a_height():
    resize = Param("resize", "size", None, "images resized to [width, height]", optional=True)
    assert resize.check("image-classification", (640, 480)) == [640, 480]
    assert resize.check("image-classification", None) is None
    for bad in ([640], [640, 0], [640.5, 480], "640x480", [True, 480]):
        with pytest.raises(ConfigError, match=r"is not \[width, height\] in whole pixels >= 1, or none"):
            resize.check("image-classification", bad)
