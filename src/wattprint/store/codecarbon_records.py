"""One checked CodeCarbon row (with its run's load rows) as a wattprint record, and the model it names.

CodeCarbon does not record whether its CPU and RAM energy came from a counter (RAPL) or from its TDP
or size model; imported runs say so in their warnings rather than guess a method.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wattprint.core.errors import ConfigError, UnknownNameError, close_matches
from wattprint.core.units import J_PER_KWH
from wattprint.store.record import RunRecord

# (name given, the model's catalog tasks) -> wattprint's task name; raises ConfigError / UnknownNameError.
TaskResolver = Callable[[str, tuple[str, ...]], str]

_UNLISTED_FIX = ("pass --model with a catalog name (`wattprint models` lists them), or --unlisted-model --task TASK "
                 "to import it under its own name")


@dataclass(frozen=True)
class ImportOptions:
    """How to map CodeCarbon rows onto benchmark records."""

    inferences_per_run: int
    task: str | None = None  # overrides the catalog's task; study and Hugging Face names are accepted
    model: str | None = None  # overrides the model column
    model_column: str = "project_name"  # or "experiment_id"
    inference_tasks: tuple[str, ...] | None = None  # task_name values (glob patterns); None: "query model"
    batch_size: int | None = None  # None: not given (recorded as 1, and said so)
    unlisted_model: bool = False  # accept a model that is not in the catalog, under its own name
    skip_bad_rows: bool = False
    # Maps --task to wattprint's name. The command passes wattprint.tasks.names.resolve_task (study and Hugging
    # Face names); the store sits below the task registry, so without one only the catalog's task names are known.
    task_resolver: TaskResolver | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.inferences_per_run < 1:
            raise ConfigError("--inferences-per-run must be at least 1",
                              "pass how many inferences each inference row (or run row) measured")
        if self.batch_size is not None and self.batch_size < 1:
            raise ConfigError("--batch-size must be at least 1", "pass the batch size the measured code used")
        if self.model_column not in ("project_name", "experiment_id"):
            raise ConfigError(f"--model-column {self.model_column!r} cannot name the model",
                              "use project_name or experiment_id (task_name names the phase: see --inference-task)")


    def resolve_task(self, name: str, model_tasks: tuple[str, ...] = ()) -> str:
        return (self.task_resolver or catalog_task)(name, model_tasks)


def catalog_task(name: str, model_tasks: tuple[str, ...] = ()) -> str:
    """``name`` if it is a task the catalog's models serve (wattprint's own names only)."""
    from wattprint.models.catalog import entries

    known = sorted({t for e in entries() for t in e.tasks})
    if name in known:
        return name
    raise UnknownNameError("task", name, known, fix="run `wattprint tasks` for wattprint's task names")


@dataclass
class Row:
    """One CSV row with where it came from; its numbers are checked before it becomes a record."""

    path: str
    line: int
    layout: str
    values: dict[str, str]

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"

    def number(self, column: str) -> float | None:
        """A checked cell as a float; None when blank (only optional columns may be)."""
        text = (self.values.get(column) or "").strip()
        return float(text) if text else None


@dataclass(frozen=True)
class ModelInfo:
    name: str
    task: str
    kind: str = "unknown"
    parameters: int | None = None


def _unlisted(name: str, options: ImportOptions, why: str) -> ModelInfo:
    if not options.unlisted_model:
        raise ConfigError(why, _UNLISTED_FIX)
    if not options.task:
        raise ConfigError(f"{why}; an unlisted model needs its task", "pass --task TASK")
    return ModelInfo(name, options.resolve_task(options.task))


def _not_in_catalog(name: str) -> str:
    from wattprint.models.catalog import entries

    known = [e.name for e in entries()] + [e.hub_id for e in entries()]
    hits = close_matches(name, known)
    tail = f"; did you mean {', '.join(repr(h) for h in hits)}?" if hits else ""
    return f"model {name!r} is not in wattprint's catalog{tail}"


def _task_of(e: Any, options: ImportOptions) -> str:
    tasks = tuple(getattr(e, "tasks", ()))
    if options.task:
        task = options.resolve_task(options.task, tasks)
        if e.kind == "task-specific" and tasks and task not in tasks:
            raise ConfigError(f"{e.name} is a task-specific {', '.join(tasks)} model, not {task}",
                              f"pass --task {tasks[0]}, or leave --task out")
        return task
    if len(tasks) != 1:
        raise ConfigError(f"{e.name!r} serves {len(tasks)} tasks in the catalog ({', '.join(tasks) or 'none known'})",
                          "pass --task TASK")
    return tasks[0]


def catalog_resolver(options: ImportOptions) -> Callable[[str], ModelInfo]:
    """Maps a model name to its catalog entry and task (``options.task`` when given, mapped to wattprint's name).

    A name outside the catalog is an error with close matches, unless ``options.unlisted_model``.
    """

    def resolve(name: str) -> ModelInfo:
        try:
            from wattprint.models.catalog import get_entry

            e = get_entry(name)
        except ConfigError as err:  # an unknown name, or the path of a folder that is not there (any more)
            return _unlisted(name, options, err.message)
        if not e.in_catalog:
            return _unlisted(name, options, _not_in_catalog(name))
        return ModelInfo(e.name, _task_of(e, options), e.kind, e.parameters)

    return resolve


def _times(row: Row, duration: float) -> tuple[float, float]:
    # CodeCarbon writes local wall time without a zone at the end of the run; read as UTC (said in warnings).
    ts = (row.values.get("timestamp") or "").strip()
    try:
        end = _dt.datetime.fromisoformat(ts).replace(tzinfo=_dt.timezone.utc).timestamp() if ts else 0.0
    except ValueError:
        end = 0.0
    return (end - duration if end else 0.0), end


def _warnings(row: Row, split: dict[str, float | None], options: ImportOptions, load: list[Row]) -> list[str]:
    out = [f"imported from CodeCarbon ({row.layout} layout, {Path(row.path).name} line {row.line}): CodeCarbon "
           "does not record whether CPU and RAM energy were measured (RAPL) or estimated (TDP / memory size)",
           "timestamp read as UTC (CodeCarbon writes local time without a zone)"]
    if all(v is None for v in split.values()):
        out.append("no CPU/GPU/RAM split in this file: only the total is known")
    if "task_name" not in row.values:
        out.append("a whole tracker run (no task rows): its energy covers everything between start() and stop(), "
                   "model loading included if it ran inside")
    if options.batch_size is None:
        out.append("batch size not given (--batch-size): recorded as 1")
    return out


def _emissions(row: Row, kg: float | None, kwh: float) -> dict[str, Any] | None:
    """CodeCarbon's carbon figure with its provenance, in wattprint's Emissions.to_dict() keys."""
    if kg is None:
        return None
    v = row.values
    return {"gco2e": kg * 1000.0, "energy_j": kwh * J_PER_KWH,
            "intensity_g_per_kwh": kg * 1000.0 / kwh if kwh else None,
            "zone": "-".join(x for x in (v.get("country_iso_code"), v.get("region")) if x) or None,
            "year": None, "source": f"CodeCarbon {v.get('codecarbon_version') or row.layout}",
            "scope": "location", "method": "codecarbon", "pue": row.number("pue")}


def _load(load: list[Row]) -> tuple[float | None, float | None, list[dict[str, Any]]]:
    """Energy (J) and duration (s) of a run's non-inference task rows, and what each was."""
    if not load:
        return None, None, []
    energies = [(r.number("energy_consumed") or 0.0) * J_PER_KWH for r in load]
    durations = [r.number("duration") or 0.0 for r in load]
    rows = [{"task_name": r.values.get("task_name", ""), "line": r.line, "energy_j": e, "duration_s": d}
            for r, e, d in zip(load, energies, durations)]
    return sum(energies), sum(durations), rows


def _settings(row: Row, options: ImportOptions, load_rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"codecarbon_layout": row.layout, "inferences_per_run": options.inferences_per_run,
            "model_column": options.model_column, "inference_task": row.values.get("task_name"),
            "load_tasks": load_rows, "batch_size": options.batch_size or 1,
            "batch_size_source": "--batch-size" if options.batch_size else "not given; 1 assumed"}


def row_to_record(row: Row, info: ModelInfo, options: ImportOptions, repeat: int, load: list[Row]) -> RunRecord:
    """One checked inference row (or whole-run row) as a finished record of origin "codecarbon"."""
    v = row.values
    duration, kwh, kg = row.number("duration") or 0.0, row.number("energy_consumed") or 0.0, row.number("emissions")
    split = {k: row.number(f"{k}_energy") for k in ("cpu", "gpu", "ram")}
    n = options.inferences_per_run
    started, finished = _times(row, duration)
    ident = uuid.uuid5(uuid.NAMESPACE_URL, "codecarbon:" + "|".join(f"{k}={v[k]}" for k in sorted(v)))
    load_j, load_s, load_rows = _load(load)
    what = f"{v['task_name']!r} row" if "task_name" in v else "run"
    return RunRecord(
        task=info.task, model=info.name, preset="codecarbon", repeat=repeat, run_id=ident.hex,
        plan_key=f"codecarbon:{ident.hex}", status="finished", origin="codecarbon", started_at=started,
        finished_at=finished, model_kind=info.kind, model_source=f"codecarbon:{v.get(options.model_column, '')}",
        parameters=info.parameters, weights="unknown", workload="unknown", batch_size=options.batch_size or 1,
        workload_description=f"imported from CodeCarbon; {n} inferences per {what} (as told by --inferences-per-run)",
        samples=n, inferences=n, duration_s=duration, energy_j=kwh * J_PER_KWH,
        gpu_energy_j=(split["gpu"] or 0.0) * J_PER_KWH, cpu_energy_j=(split["cpu"] or 0.0) * J_PER_KWH,
        ram_energy_j=(split["ram"] or 0.0) * J_PER_KWH, load_energy_j=load_j, load_duration_s=load_s,
        wh_per_1000=kwh * 1000.0 / n * 1000.0,
        gpu_wh_per_1000=None if split["gpu"] is None else split["gpu"] * 1000.0 / n * 1000.0,
        gco2e=None if kg is None else kg * 1000.0,
        gco2e_per_1000=None if kg is None else kg * 1000.0 / n * 1000.0, emissions=_emissions(row, kg, kwh),
        settings=_settings(row, options, load_rows),
        environment={"codecarbon": dict(v, layout=row.layout, file=row.path, line=row.line),
                     "cpu_model": v.get("cpu_model"), "gpu_model": v.get("gpu_model"), "os": v.get("os"),
                     "python_version": v.get("python_version")},
        device=v.get("gpu_model") or v.get("cpu_model") or "", warnings=_warnings(row, split, options, load),
    )
