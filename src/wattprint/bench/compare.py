"""The jobs of ``wattprint compare``: one task, task-specific against general-purpose models, run as benchmark
jobs; :mod:`wattprint.report.compare` compares what they measured."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wattprint.bench.plan import expand
from wattprint.bench.runner import run_job
from wattprint.core.errors import ConfigError
from wattprint.store.record import RunRecord

COMPARE_TASKS = ("text-classification", "question-answering", "summarization")
MIN_REPEATS = 3  # what a comparison runs when neither the preset nor --repeats asks for more: a ratio's interval


@dataclass(frozen=True)
class CompareRequest:
    task: str
    specific: tuple[str, ...]
    general: tuple[str, ...]
    preset: str = "quick"
    overrides: dict[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if self.task not in COMPARE_TASKS:
            raise ConfigError(f"compare runs {', '.join(COMPARE_TASKS)}; not {self.task!r}",
                              "pick one of those tasks: general-purpose models are prompted zero-shot for them")
        if not self.specific or not self.general:
            raise ConfigError("compare needs at least one --specific and one --general model",
                              "e.g. --specific distilbert-sst2 --general flan-t5-small")


def run_jobs(req: CompareRequest, *, store: Any = None, meter_factory: Callable[..., Any] | None = None,
             location: Any = None, progress: Any = None) -> list[RunRecord]:
    """Run every model of the request as a benchmark job (stored when ``store`` is given); their records.

    Without ``repeats`` in the request's overrides each model runs at least ``MIN_REPEATS`` times, so that the
    ratio comes with an interval. ``progress`` (a :class:`wattprint.bench.progress.Progress`) shows which model
    and repeat is running.
    """
    models = list(req.specific) + list(req.general)
    jobs = expand(req.preset, [req.task], models, req.overrides)
    if "repeats" not in req.overrides and any(j.settings.get("repeats", 0) < MIN_REPEATS for j in jobs):
        jobs = expand(req.preset, [req.task], models, {**req.overrides, "repeats": MIN_REPEATS})
    records: list[RunRecord] = []
    if progress is not None:
        progress.plan(len(jobs))
    try:
        for job in jobs:
            records += run_job(job, store=store, meter_factory=meter_factory, location=location, progress=progress)
    finally:
        if progress is not None:
            progress.close()
    return records
