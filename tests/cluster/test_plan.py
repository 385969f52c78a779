"""Sweep plans: TOML and YAML read the same, validation names the bad key, crossing and rules expand right."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from wattprint.cluster.plan import Resources, SweepPlan, expand_plan, load_plan, plan_from_dict
from wattprint.core.errors import ConfigError, UnknownNameError

TOML = """
name = "t"
presets = ["quick"]
tasks = ["text-classification", "text-generation"]
repeats = 2
[settings]
samples = 4
[cross]
batch_size = [1, 8]
[resources]
num_cpus = 1
[[resources.rules]]
task = "text-generation"
num_gpus = 1
num_cpus = 2
[ray]
num_cpus = 2
"""

YAML = """
name: t
presets: [quick]
tasks: [text-classification, text-generation]
repeats: 2
settings: {samples: 4}
cross: {batch_size: [1, 8]}
resources:
  num_cpus: 1
  rules:
    - {task: text-generation, num_gpus: 1, num_cpus: 2}
ray: {num_cpus: 2}
"""


def test_toml_and_yaml_give_the_same_plan(tmp_path):
    (tmp_path / "p.toml").write_text(TOML)
    (tmp_path / "p.yaml").write_text(YAML)
    a, b = load_plan(tmp_path / "p.toml"), load_plan(tmp_path / "p.yaml")
    assert a.to_dict() | {"source": ""} == b.to_dict() | {"source": ""}
    assert a.resources_for("text-generation", "gpt2") == Resources(num_cpus=2, num_gpus=1)
    assert a.resources_for("text-classification", "bert") == Resources(num_cpus=1, num_gpus=0)
    assert a.ray.num_cpus == 2
    assert a.combinations() == [
        {"samples": 4, "repeats": 2, "batch_size": 1},
        {"samples": 4, "repeats": 2, "batch_size": 8},
    ]


@pytest.mark.parametrize(
    "data, error, words",
    [
        ({"tasks": ["x"], "modles": ["m"]}, UnknownNameError, "did you mean 'models'"),
        ({"tasks": []}, ConfigError, "no tasks"),
        ({"tasks": ["x"], "cross": {"batch_size": 8}}, ConfigError, "non-empty list"),
        ({"tasks": ["x"], "resources": {"num_gpus": 0.5}}, ConfigError, "whole GPUs"),
        ({"tasks": ["x"], "resources": {"num_cpus": 0}}, ConfigError, "at least one CPU"),
        ({"tasks": ["x"], "resources": {"rules": [{"num_gpus": 1}]}}, ConfigError, "no task or model"),
        ({"tasks": ["x"], "resources": {"rules": [{"task": "text-clasification", "num_gpus": 1}]}}, UnknownNameError,
         "unknown task in a resources rule 'text-clasification'; did you mean 'text-classification'"),
        ({"tasks": ["x"], "repeats": 0}, ConfigError, "repeats"),
    ],
)
def test_bad_plans_say_what_is_wrong(data, error, words):
    with pytest.raises(error) as e:
        plan_from_dict(data)
    assert words in str(e.value)


def test_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="no plan file"):
        load_plan(tmp_path / "missing.toml")
    (tmp_path / "p.json").write_text("{}")
    with pytest.raises(ConfigError, match=".toml, .yaml or .yml"):
        load_plan(tmp_path / "p.json")
    (tmp_path / "p.toml").write_text("tasks = [")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_plan(tmp_path / "p.toml")


@dataclass(frozen=True)
class _Job:
    task: str
    model: str
    preset: str
    dataset: str
    settings: dict = field(hash=False)
    repeats: int = 1


def _fake_expand(preset, tasks, models, overrides):
    return [_Job(t, f"{t}-model", preset, "d", {"device": "auto", **overrides}, overrides.get("repeats", 1))
            for t in tasks]


def _fake_keys(job):
    return [(r, f"{job.task}|{job.preset}|{job.settings.get('batch_size')}|{job.settings['device']}|{r}")
            for r in range(job.repeats)]


def test_expansion_crosses_settings_and_applies_rules():
    a, b = "fill-mask", "text-generation"
    plan = plan_from_dict(
        {"presets": ["quick", "quick"], "tasks": [a, b], "repeats": 2, "cross": {"batch_size": [1, 4]},
         "resources": {"rules": [{"task": b, "num_gpus": 1}]}}
    )
    jobs = expand_plan(plan, expand=_fake_expand, keys=_fake_keys)
    assert len(jobs) == 4  # the duplicate preset adds nothing
    assert [(j.job.task, j.job.settings["batch_size"]) for j in jobs] == [(a, 1), (b, 1), (a, 4), (b, 4)]
    assert all(len(j.keys) == 2 for j in jobs)
    # device "auto" is made concrete from what the job reserves, so it lands in the plan key
    assert {j.job.task: j.job.settings["device"] for j in jobs} == {a: "cpu", b: "cuda"}
    assert jobs[1].resources.num_gpus == 1 and jobs[0].resources.num_gpus == 0
    assert "batch_size" in jobs[0].label


def test_a_rule_names_a_task_by_alias_too():
    plan = plan_from_dict({"tasks": ["token-classification"], "resources": {"rules": [{"task": "ner", "num_gpus": 1}]}})
    assert plan.resources_for("token-classification", "m").num_gpus == 1


def test_a_cuda_device_without_a_gpu_is_refused():
    plan = plan_from_dict({"tasks": ["a"], "settings": {"device": "cuda"}})
    with pytest.raises(ConfigError, match="reserves no GPU"):
        expand_plan(plan, expand=_fake_expand, keys=_fake_keys)


def test_the_example_plans_load():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "examples"
    toml, yaml = load_plan(root / "sweep-quick.toml"), load_plan(root / "sweep-quick.yaml")
    assert isinstance(toml, SweepPlan) and toml.tasks
    assert toml.to_dict() | {"source": ""} == yaml.to_dict() | {"source": ""}
