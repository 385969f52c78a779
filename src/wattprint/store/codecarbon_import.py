"""Read CodeCarbon ``emissions.csv`` files into wattprint records: check every row, then map it.

Two kinds of file (see :mod:`wattprint.store.codecarbon` for their column layouts):

- run rows (``emissions.csv``): one row per ``tracker.start()``/``stop()``, each a run of
  ``--inferences-per-run`` inferences. Its energy covers everything the tracker saw, loading included.
- task rows (``emissions_<experiment>_<run_id>.csv``, a ``task_name`` column): one row per
  ``tracker.start_task(name)``. The study behind wattprint's ``paper`` preset wrote ``load model``,
  ``transfer model to GPU`` (image generation) and ``query model`` for each model (github.com/sashavor/
  co2_inference, ``code/*/*.py``). Only the inference rows (``query model`` by default) are runs of
  inferences; the other rows of the same ``run_id`` are kept as that run's load energy.

Every row is checked before anything is stored: energy and duration must be finite, non-negative numbers,
still finite once converted (kWh to joules).
"""

from __future__ import annotations

import csv
import fnmatch
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wattprint.core.errors import ConfigError, UnknownNameError, close_matches
from wattprint.core.units import J_PER_KWH
from wattprint.store.checks import invalid_reason
from wattprint.store.codecarbon import detect_layout
from wattprint.store.codecarbon_records import ImportOptions, ModelInfo, Row, catalog_resolver, row_to_record
from wattprint.store.record import RunRecord

__all__ = ["DEFAULT_INFERENCE_TASK", "ImportOptions", "ImportPlan", "ModelInfo", "import_files", "plan_import",
           "read_records", "read_rows", "row_problem"]

DEFAULT_INFERENCE_TASK = "query model"
_REQUIRED_NUMBERS = ("duration", "energy_consumed")
_OPTIONAL_NUMBERS = ("emissions", "cpu_energy", "gpu_energy", "ram_energy", "pue")
# the most a record multiplies a column by (kWh to joules; kg to g per 1,000 inferences, one inference a run
# at least): a value finite in the file can still overflow to infinity there
_SCALE = {"energy_consumed": J_PER_KWH, "cpu_energy": J_PER_KWH, "gpu_energy": J_PER_KWH, "ram_energy": J_PER_KWH,
          "emissions": 1e6}
_BAD_ROWS_FIX = "correct or delete the row, or pass --skip-bad-rows to import the other rows"


@dataclass
class ImportPlan:
    """What an import would store: records, the rows it skipped (``--skip-bad-rows``) and notes for the user."""

    records: list[RunRecord] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    load_rows: int = 0
    bad_rows: list[Row] = field(default_factory=list)
    partial_runs: set[int] = field(default_factory=set)  # ids of inference rows whose run lost a skipped row


def _number(text: str | None, required: bool, scale: float = 1.0) -> tuple[float | None, str | None]:
    """The value of a numeric cell, or why it is not a usable quantity (``scale``: the most a record multiplies
    it by, which must leave it finite)."""
    if text is None or not text.strip():
        return None, ("is blank" if required else None)
    try:
        x = float(text)
    except ValueError:
        return None, f"{text.strip()!r} is not a number"
    if math.isnan(x) or math.isinf(x):
        return None, f"{text.strip()!r} is not a finite number"
    if x < 0:
        return None, f"{text.strip()!r} is negative"
    if math.isinf(x * scale):
        return None, f"{text.strip()!r} is too large (not finite once converted)"
    return x, None


def row_problem(values: Mapping[str, str | None], model_column: str, model: str | None) -> str | None:
    """Why a row cannot be a measurement (None: it can)."""
    for col in _REQUIRED_NUMBERS:
        _, why = _number(values.get(col), required=True, scale=_SCALE.get(col, 1.0))
        if why:
            return f"{col} {why}"
    for col in _OPTIONAL_NUMBERS:
        _, why = _number(values.get(col), required=False, scale=_SCALE.get(col, 1.0))
        if why:
            return f"{col} {why}"
    if not model and not (values.get(model_column) or "").strip():
        return f"no {model_column} to name the model (pass --model NAME)"
    return None


def read_rows(path: str | Path) -> tuple[str, list[Row]]:
    """The layout name and the rows of one CodeCarbon CSV file, each with its line number."""
    p = str(path)
    try:
        with open(p, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            try:
                layout = detect_layout(reader.fieldnames or [])
            except ConfigError as e:
                raise ConfigError(f"{p}: {e.message}", e.fix) from None
            rows = []
            for values in reader:
                extra = values.pop(None, None)  # type: ignore[call-overload,unused-ignore]  # surplus cells
                if extra:
                    values["_extra_cells"] = ",".join(str(x) for x in extra)
                rows.append(Row(p, reader.line_num, layout, dict(values)))
            return layout, rows
    except UnicodeDecodeError as e:
        raise ConfigError(f"{p} is not UTF-8 text ({e.reason} at byte {e.start})",
                          "pass the emissions.csv CodeCarbon wrote (UTF-8)") from e
    except csv.Error as e:
        raise ConfigError(f"{p}: not a readable CSV file ({e})", "pass the emissions.csv CodeCarbon wrote") from e
    except OSError as e:
        raise ConfigError(f"cannot read {p}: {e.strerror or e}", "pass the path of a CodeCarbon emissions.csv") from e


def _good_rows(rows: list[Row], options: ImportOptions, plan: ImportPlan) -> list[Row]:
    """The rows that are measurements; a bad one is an error, or skipped and listed with --skip-bad-rows."""
    good: list[tuple[Row, str | None]] = []
    bad: list[tuple[Row, str | None]] = []
    for row in rows:
        why = row_problem(row.values, options.model_column, options.model)
        if row.values.get("_extra_cells"):
            why = why or "more cells than the header has columns"
        (bad if why else good).append((row, why))
    if bad and not options.skip_bad_rows:
        (row, why), more = bad[0], len(bad) - 1
        tail = f" ({more} more bad row(s) in this file)" if more else ""
        raise ConfigError(f"{row.where}: {why}; nothing imported{tail}", _BAD_ROWS_FIX)
    plan.skipped += [f"{row.where}: {why}" for row, why in bad]
    plan.bad_rows += [row for row, _ in bad]
    return [row for row, _ in good]


def _patterns(options: ImportOptions) -> tuple[str, ...]:
    return options.inference_tasks or (DEFAULT_INFERENCE_TASK,)


def _is_inference(row: Row, patterns: tuple[str, ...]) -> bool:
    name = (row.values.get("task_name") or "").strip()
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def _model_name(row: Row, options: ImportOptions) -> str:
    return options.model or (row.values.get(options.model_column) or "").strip()


def _groups(rows: list[Row], options: ImportOptions) -> dict[tuple[str, str, str], list[Row]]:
    """Task rows of one tracker run (file, run_id, model), in file order."""
    out: dict[tuple[str, str, str], list[Row]] = {}
    for row in rows:
        out.setdefault((row.path, _run_id(row), _model_name(row, options)), []).append(row)
    return out


def _run_id(row: Row) -> str:
    return (row.values.get("run_id") or "").strip() or f"line {row.line}"


def _no_inference_rows(task_rows: list[Row], options: ImportOptions) -> ConfigError:
    names = sorted({(r.values.get("task_name") or "").strip() for r in task_rows})
    wanted = _patterns(options)
    hints = [m for w in options.inference_tasks or () for m in close_matches(w, names)]  # for a name the user gave
    files = sorted({r.path for r in task_rows})
    where = files[0] if len(files) == 1 else f"{len(files)} files"
    msg = (f"{where}: no task row named {', '.join(repr(w) for w in wanted)} to count as inferences "
           f"(task names there: {', '.join(repr(n) for n in names[:8])}{', ...' if len(names) > 8 else ''})")
    if hints:
        msg += f"; did you mean {', '.join(repr(h) for h in dict.fromkeys(hints))}?"
    return ConfigError(msg, "pass --inference-task NAME, the task_name of the rows that ran the inferences "
                            "(repeatable, glob patterns allowed; '*' counts every task row)")


def _task_runs(task_rows: list[Row], options: ImportOptions, plan: ImportPlan) -> list[tuple[Row, list[Row]]]:
    """(inference row, the load rows of its run) for every run of the task logs; a run's load rows go with
    its first inference row only, so that they are counted once."""
    patterns = _patterns(options)
    every = task_rows + [r for r in plan.bad_rows if "task_name" in r.values]  # a skipped row still names a task
    if not any(_is_inference(r, patterns) for r in every):
        raise _no_inference_rows(every, options)
    partial = {(r.path, _run_id(r)) for r in plan.bad_rows}  # runs with a skipped row: load energy incomplete
    out: list[tuple[Row, list[Row]]] = []
    for (path, run_id, _), rows in _groups(task_rows, options).items():
        inference = [r for r in rows if _is_inference(r, patterns)]
        load = [r for r in rows if not _is_inference(r, patterns)]
        if not inference:
            lines = ", ".join(str(r.line) for r in rows)
            msg = f"{path}:{lines}: run {run_id} has no {' or '.join(repr(p) for p in patterns)} row"
            if not options.skip_bad_rows:
                raise ConfigError(msg + "; nothing imported", "pass --inference-task NAME for the rows that ran its "
                                  "inferences, or --skip-bad-rows to leave this run out")
            plan.skipped.append(msg)
            continue
        if (path, run_id) in partial:
            plan.partial_runs.add(id(inference[0]))
        plan.load_rows += len(load)
        out.append((inference[0], load))
        out += [(r, []) for r in inference[1:]]
    return out


def _check_task_option(options: ImportOptions) -> None:
    """An unknown --task fails before any file is read (a pipeline-only name is settled per model later)."""
    if not options.task:
        return
    try:
        options.resolve_task(options.task)
    except UnknownNameError:
        raise
    except ConfigError:
        pass


def _read_all(paths: Iterable[str | Path], options: ImportOptions, plan: ImportPlan) -> tuple[list[Row], list[Row]]:
    run_rows: list[Row] = []
    task_rows: list[Row] = []
    for path in paths:
        _, rows = read_rows(path)
        if not rows:
            plan.notes.append(f"{path}: no rows")
        for row in _good_rows(rows, options, plan):
            (task_rows if "task_name" in row.values else run_rows).append(row)
    return run_rows, task_rows


def _whole_runs(run_rows: list[Row], task_rows: list[Row], plan: ImportPlan) -> list[tuple[Row, list[Row]]]:
    """Run rows, except those whose run's task rows are imported too (the same energy, counted once)."""
    task_run_ids = {(r.values.get("run_id") or "").strip() for r in task_rows} - {""}
    out: list[tuple[Row, list[Row]]] = []
    for row in run_rows:
        run_id = (row.values.get("run_id") or "").strip()
        if run_id in task_run_ids:
            plan.notes.append(f"{row.where}: whole-run row of run {run_id} left out: its task rows are imported")
            continue
        out.append((row, []))
    return out


def plan_import(paths: Iterable[str | Path], options: ImportOptions,
                resolve: Callable[[str], ModelInfo] | None = None) -> ImportPlan:
    """Read, check and map every row of every file; store nothing. Raises :class:`ConfigError` on bad input."""
    _check_task_option(options)
    resolve = resolve or catalog_resolver(options)
    plan = ImportPlan()
    run_rows, task_rows = _read_all(paths, options, plan)
    if options.inference_tasks and not task_rows and run_rows:
        raise ConfigError("--inference-task picks rows of CodeCarbon task logs, and these files have no task_name "
                          "column (each row is a whole run)", "leave --inference-task out for run files")
    pairs = (_task_runs(task_rows, options, plan) if task_rows else []) + _whole_runs(run_rows, task_rows, plan)
    infos: dict[str, ModelInfo] = {}
    counts: dict[tuple[str, str], int] = {}
    for row, load in pairs:
        name = _model_name(row, options)
        info = infos[name] = infos.get(name) or resolve(name)
        key = (info.task, info.name)
        counts[key] = counts.get(key, 0) + 1
        record = row_to_record(row, info, options, counts[key] - 1, load)
        why = invalid_reason(record)  # what the rows' check cannot see: a sum of load rows that overflows
        if why:
            raise ConfigError(f"{row.where}: {why} once converted; nothing imported", "correct or delete the row")
        if id(row) in plan.partial_runs:
            record.warnings.append("a row of this run was skipped as invalid (--skip-bad-rows): its load energy "
                                   "leaves that row out")
        plan.records.append(record)
    return plan


def read_records(paths: Iterable[str | Path], options: ImportOptions,
                 resolve: Callable[[str], ModelInfo] | None = None) -> list[RunRecord]:
    """The records an import would store (repeats numbered per task and model in file order)."""
    return plan_import(paths, options, resolve).records


def import_files(paths: Iterable[str | Path], options: ImportOptions, store: Any,
                 resolve: Callable[[str], ModelInfo] | None = None) -> tuple[list[RunRecord], int]:
    """Check every file, then add its records to ``store``; rows already imported (same content) are skipped.

    Nothing is written unless every file is good (or its bad rows are skipped with ``skip_bad_rows``).
    Returns (records added, records skipped as already present).
    """
    records = plan_import(paths, options, resolve).records
    return add_new(records, store)


def add_new(records: list[RunRecord], store: Any) -> tuple[list[RunRecord], int]:
    """Add the records ``store`` does not hold yet; returns (added, already there)."""
    have = {r.run_id for r in store.runs(origin="codecarbon")} if records else set()
    added = [r for r in records if r.run_id not in have]
    for r in added:
        store.add(r)
    return added, len(records) - len(added)
