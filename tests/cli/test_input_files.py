"""Preset files and sweep plans of the wrong shape or type: one error line naming the file and the key, a fix
line, no traceback, and no store written."""

from __future__ import annotations

import pytest
from cli_helpers import assert_one_error

PRESETS = [
    ("preset = 3\n", "preset must be a table"),
    ("defaults = 3\n", "defaults must be a table"),
    ("tasks = 3\n", "tasks must be a table"),
    ("[tasks]\ntext-classification = 3\n", "tasks.text-classification must be a table"),
    ('[preset]\nname = 3\n', "[preset]: name must be a text"),
    ('[defaults]\nsamples = "lots"\n', '[defaults]: samples must be a whole number or "auto", got \'lots\''),
    ('[defaults]\nrepeats = "3"\n', "[defaults]: repeats must be a whole number"),
    ("[defaults]\nrepeats = true\n", "[defaults]: repeats must be a whole number"),
    ("[defaults]\ncomponents = 3\n", "[defaults]: components must be a list of names"),
    ("[defaults]\ndevice = 3\n", "[defaults]: device must be a text"),
    ("[defaults]\nbatch_windows = 1\n", "[defaults]: batch_windows must be true or false"),
    ("[tasks.text-classification]\nsamples = [1]\n", "[tasks.text-classification]: samples must be a whole number"),
    ("[defaults]\nsamples = -5\n", "[defaults]: samples must be at least 1, got -5"),
    ("[defaults]\nsampels = 5\n", "[defaults]: unknown setting 'sampels'; did you mean 'samples'"),
    ("[defaults\n", "does not parse"),
    # the caps of the flags hold in a file too
    ("[defaults]\nidle_seconds = 1e9\n", "[defaults]: idle_seconds must be at most 3600"),
    ("[defaults]\nsamples = 100000000000000000000\n", "[defaults]: samples must be at most 1000000"),
    ("[defaults]\nseed = 99999999999999999999999\n", "[defaults]: seed must be at most 9223372036854775807"),
    ("[defaults]\nseed = -1\n", "[defaults]: seed must be at least 0"),
    ("[defaults]\ntime_budget_s = -1\n", "[defaults]: time_budget_s must be above 0, got -1"),
    ('[defaults]\nsamples = "auto"\ntime_budget_s = 0\n', "[defaults]: time_budget_s must be above 0"),
]


@pytest.mark.parametrize("body, said", PRESETS, ids=[b for b, _ in PRESETS])
def test_a_bad_preset_file_is_one_line_naming_file_and_key(cli, tmp_path, body, said):
    preset = tmp_path / "mine.toml"
    preset.write_text(body)
    code, _, err = cli("bench", "--preset", str(preset), "--task", "text-classification",
                       "--store", str(tmp_path / "w.db"))
    assert_one_error(code, err, f"preset file {preset}", said)
    assert not (tmp_path / "w.db").exists()


PLANS = [
    ('[settings]\nsamples = "lots"\n', "[settings]: samples must be a whole number or \"auto\", got 'lots'"),
    ("[settings]\ncomponents = 3\n", "[settings]: components must be a list of names"),
    ("[settings]\nidle_seconds = 1e9\n", "[settings]: idle_seconds must be at most 3600"),
    ("[settings]\nsampels = 5\n", "[settings]: unknown setting 'sampels'; did you mean 'samples'"),
    ('[cross]\nbatch_size = [1, "8"]\n', "[cross]: batch_size must be a whole number, got '8'"),
]


@pytest.mark.parametrize("body, said", PLANS, ids=[b for b, _ in PLANS])
def test_a_bad_setting_in_a_sweep_plan_is_one_line_naming_file_and_key(cli, tmp_path, body, said):
    plan = tmp_path / "plan.toml"
    plan.write_text('tasks = ["text-classification"]\n' + body)
    code, _, err = cli("sweep", str(plan), "--dry-run")
    assert_one_error(code, err, f"plan {plan}", said)


def test_negative_sweep_resources_name_the_field(cli, tmp_path):
    plan = tmp_path / "plan.toml"
    plan.write_text('tasks = ["text-classification"]\n[resources]\nnum_cpus = -1\n')
    code, _, err = cli("sweep", str(plan), "--dry-run")
    assert_one_error(code, err, "resources num_cpus = -1 cannot be negative")
    assert "Resources(" not in err


def test_a_sweep_plan_that_is_not_yaml_is_one_line(cli, tmp_path):
    pytest.importorskip("yaml")
    plan = tmp_path / "plan.yaml"
    plan.write_text("tasks: [text-classification\nfoo: : bar\n")
    code, _, err = cli("sweep", str(plan), "--dry-run")
    assert_one_error(code, err, f"{plan} is not valid YAML", "(line 2, column 4)")
