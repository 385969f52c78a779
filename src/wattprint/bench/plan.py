"""A benchmark plan: preset x tasks x models x datasets, expanded into jobs.

A :class:`Job` is one model on one task and one dataset under resolved settings; the runner turns it
into one record per repeat. Plan keys (what ``--resume`` skips) are hashes of everything that decides
what a repeat measures, so a run with other settings is never mistaken for a finished one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wattprint.bench.presets import Preset, check_task_params, check_unclaimed, load_preset
from wattprint.bench.settings import BenchSettings
from wattprint.core.errors import ConfigError


@dataclass(frozen=True)
class Job:
    """One model on one task and one dataset. ``settings`` is ``BenchSettings.to_dict()``."""

    task: str
    model: str
    preset: str
    dataset: str
    settings: dict[str, Any] = field(hash=False)
    repeats: int = 1

    @property
    def resolved(self) -> BenchSettings:
        return BenchSettings.from_dict(self.settings)

    def label(self) -> str:
        return f"{self.task} / {self.model} / {self.dataset}"


def plan_key(job: Job, repeat: int) -> str:
    """Hash of (task, model, dataset, the job's settings but the repeat count, repeat index).

    The settings are the plan's (device "auto" stays "auto"), so the driver of a sweep and the worker
    that runs the job compute the same key. Use one store per machine, or name ``--device``, to keep a
    CPU run apart from a GPU run of the same plan.
    """
    d = dict(job.settings)
    d.pop("repeats", None)  # adding repeats later must not redo the first ones
    blob = json.dumps({"task": job.task, "model": job.model, "dataset": job.dataset, "settings": d,
                       "repeat": repeat}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def repeat_range(job: Job) -> range:
    """The repeat indices of ``job``, in the order the runner runs them."""
    return range(job.repeats)


def is_outside_model(name: str) -> bool:
    """A hub id ("org/name") or a local folder: not a catalog name."""
    return "/" in name or Path(name).exists()


def _select(task: str, selection: str, required: bool = True) -> list[str]:
    """Catalog models of ``task`` picked by a preset's ``models`` rule; none is an error when ``required`` (the
    task was asked for by name), else the task is left out (``paper`` over every task: the study did not run
    sentence similarity or speech recognition)."""
    from wattprint.models.catalog import entries, smallest

    if selection == "smallest":
        return [smallest(task).name]
    found = list(entries(task))
    if selection in ("task-specific", "general-purpose"):
        found = [e for e in found if e.kind == selection]
    elif selection == "study":  # the models the Power Hungry Processing study ran on this task
        from wattprint.workloads.specs import study_ran

        found = [e for e in found if study_ran(e, task)]
    if not found and required:
        raise ConfigError(f"the catalog has no {selection} model for task {task!r}", fix="name one with --model")
    return [e.name for e in found]


def _task_models(tasks: Sequence[str], models: Sequence[str]) -> list[tuple[str, str]]:
    """Pairs (task, model) for named models: a catalog model runs on its own tasks (those asked for, if
    any), a model outside the catalog (hub id, folder) on each task named."""
    from wattprint.models.catalog import get_entry

    pairs: list[tuple[str, str]] = []
    for name in models:
        entry = get_entry(name)  # a typo -> UnknownNameError with close matches
        if not entry.in_catalog:
            if not tasks:
                raise ConfigError(f"{name!r} is not in the catalog, so wattprint cannot tell its task",
                                  fix=f"add --task, e.g. wattprint bench --task text-classification --model {name}")
            pairs += [(t, name) for t in tasks]
            continue
        serves = [t for t in entry.tasks if not tasks or t in tasks]
        if not serves:
            raise ConfigError(f"model {entry.name!r} serves {', '.join(entry.tasks)}, not {', '.join(tasks)}",
                              fix=f"add --task {entry.tasks[0]}, or drop --task")
        pairs += [(t, entry.name) for t in serves]
    return pairs


def _check_flag_params(overrides: Mapping[str, Any] | None, tasks: list[str], where: str) -> None:
    """A parameter given by a flag (or a sweep plan's settings) must be one a task of the plan takes."""
    from wattprint.store.record import migrate_settings

    params = migrate_settings(overrides or {}).get("params") or {}
    check_unclaimed(params, tasks, where)


def _datasets(task: str, settings: BenchSettings) -> list[str]:
    from wattprint.tasks.registry import get_task

    spec = get_task(task)
    if settings.dataset:
        return [spec.dataset(name).name for name in settings.dataset]
    return [d.name for d in spec.datasets[: settings.datasets]] or [""]


def expand(
    preset: Preset | str,
    tasks: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    overrides_from: str = "the flags",
) -> list[Job]:
    """The jobs of a benchmark, in task order then model order then dataset order.

    No tasks and no models: every registered task with the preset's model selection. ``overrides`` (flags, a
    sweep plan's settings: ``overrides_from`` names them in errors) may set task parameters in ``params``; each
    applies to the tasks that declare it, and one that no task of the plan declares is an error. Raises
    :class:`UnknownNameError` (with close matches) for an unknown task, model or dataset.
    """
    from wattprint.tasks.registry import get_task, task_names

    preset = load_preset(preset) if isinstance(preset, str) else preset
    # an unknown name -> UnknownNameError with close matches; an alias ("text-to-image") -> its task
    tasks = list(dict.fromkeys(get_task(t).name for t in tasks or ()))
    if models:
        pairs = _task_models(tasks, list(dict.fromkeys(models)))
    else:
        pairs = []
        for t in tasks or task_names():
            selection = preset.settings_for(t, overrides).models
            pairs += [(t, m) for m in _select(t, selection, required=bool(tasks))]
    _check_flag_params(overrides, sorted({t for t, _ in pairs}), overrides_from)
    jobs = []
    for task, model in pairs:
        settings = preset.settings_for(task, overrides)
        check_task_params(task, settings)
        for ds in _datasets(task, settings):
            jobs.append(Job(task, model, preset.name, ds, settings.to_dict(), settings.repeats))
    return jobs
