"""When has serving a model used as much energy as training it?

``inferences = (training kWh [+ finetuning kWh]) / kWh per inference``; at ``rate`` queries per day the
break-even takes ``inferences / rate`` days. Training figures come from the user or from
``data/training_energy.csv`` (published figures with their sources); per-inference energy from the user or
from the store's mean for a model.
"""

from __future__ import annotations

import csv
import statistics
from dataclasses import dataclass
from importlib import resources
from typing import Any

from wattprint.core.errors import ConfigError, UnknownNameError

TABLE = "training_energy.csv"


@dataclass(frozen=True)
class TrainingFigure:
    model: str
    hub_id: str
    parameters: int | None
    training_kwh: float
    finetuning_kwh: float | None
    basis: str  # "reported" or "derived"
    source: str
    notes: str

    def total_kwh(self, finetuning: bool = True) -> float:
        return self.training_kwh + ((self.finetuning_kwh or 0.0) if finetuning else 0.0)


def training_table() -> list[TrainingFigure]:
    """The published training energies shipped with wattprint."""
    text = resources.files("wattprint.report").joinpath("data", TABLE).read_text(encoding="utf-8")
    out = []
    for row in csv.DictReader(text.splitlines()):
        out.append(TrainingFigure(
            model=row["model"], hub_id=row["hub_id"], parameters=int(row["parameters"]) if row["parameters"] else None,
            training_kwh=float(row["training_kwh"]),
            finetuning_kwh=float(row["finetuning_kwh"]) if row["finetuning_kwh"] else None,
            basis=row["basis"], source=row["source"], notes=row["notes"]))
    return out


def training_figure(name: str) -> TrainingFigure:
    """The table's entry for a model name or hub id (case-insensitive)."""
    table = training_table()
    for f in table:
        if name.lower() in (f.model.lower(), f.hub_id.lower()) or name.lower() == f.hub_id.lower().split("/")[-1]:
            return f
    raise UnknownNameError("model in the training-energy table", name, [f.model for f in table],
                           fix="pass --training-kwh KWH for a model the table does not list")


@dataclass(frozen=True)
class BreakEven:
    training_kwh: float  # what was counted (training, plus finetuning where asked)
    kwh_per_inference: float
    inferences: float
    queries_per_day: float | None
    days: float | None
    training_source: str
    inference_source: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__, years=None if self.days is None else self.days / 365.25)


def break_even(training_kwh: float, kwh_per_inference: float, queries_per_day: float | None = None,
               training_source: str = "given", inference_source: str = "given") -> BreakEven:
    """The number of inferences whose energy equals ``training_kwh``, and the days at ``queries_per_day``.

    Raises ConfigError for a non-positive energy or rate.
    """
    if training_kwh <= 0 or kwh_per_inference <= 0:
        raise ConfigError("training and per-inference energies must be positive",
                          "check --training-kwh and --kwh-per-inference / --wh-per-1000")
    if queries_per_day is not None and queries_per_day <= 0:
        raise ConfigError("the query rate must be positive", "pass --queries-per-day N with N > 0")
    n = training_kwh / kwh_per_inference
    days = None if queries_per_day is None else n / queries_per_day
    return BreakEven(training_kwh, kwh_per_inference, n, queries_per_day, days, training_source, inference_source)


def store_kwh_per_inference(store: Any, model: str, task: str | None = None) -> tuple[float, str]:
    """Mean kWh per inference of ``model`` over its finished runs in ``store`` (all presets pooled).

    Raises ConfigError when the store has no run of the model, or when it ran several tasks and none
    was chosen.
    """
    from wattprint.report.aggregate import kwh_per_1000

    measured = [(r, v) for r in store.runs(model=model, task=task) if (v := kwh_per_1000(r)) is not None]
    runs = [r for r, _ in measured]
    if not runs:
        _no_runs(store, model, task)
    tasks = sorted({r.task for r in runs})
    if len(tasks) > 1:
        raise ConfigError(f"{model!r} ran on several tasks ({', '.join(tasks)})", "pass --task to choose one")
    mean = statistics.fmean(v for _, v in measured) / 1000.0
    return mean, f"store: mean of {len(runs)} run(s) of {model} on {tasks[0]}"


def _no_runs(store: Any, model: str, task: str | None) -> None:
    """The store has no finished run of ``model`` (on ``task``): say so with what it does have, the models
    closest to the name (the store's first, then the catalog's) or the tasks the model ran."""
    from wattprint.core.errors import close_matches
    from wattprint.models.catalog import entries
    from wattprint.report.aggregate import kwh_per_1000

    usable = [r for r in store.runs() if kwh_per_1000(r) is not None]
    what = f"the store has no finished run of {model!r}" + (f" on {task}" if task else "")
    fix = f"run `wattprint bench --model {model}`, or pass --wh-per-1000 / --kwh-per-inference"
    ran_on = sorted({r.task for r in usable if r.model == model})
    if ran_on:
        raise ConfigError(f"{what}; it ran on {', '.join(ran_on)}", f"pass --task {ran_on[0]}, or drop --task")
    stored = sorted({r.model for r in usable if task is None or r.task == task})
    catalog = [e.name for e in entries(task)]
    if model not in catalog:  # a typo: the closest names, the store's first
        hits = close_matches(model, stored)
        hits += [h for h in close_matches(model, catalog) if h not in hits]
        if hits:
            what += f"; did you mean {', '.join(repr(h) for h in hits[:3])}?"
    if stored:
        fix = (f"pick a model the store has ({', '.join(stored[:8])}{', ...' if len(stored) > 8 else ''}), "
               f"or {fix}")
    raise ConfigError(what, fix)
