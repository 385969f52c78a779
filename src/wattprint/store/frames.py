"""The store in a notebook: its runs, a sweep's runs and a summary as pandas DataFrames, and an HTML summary.

    from wattprint.store.frames import runs_frame, store_summary, sweep_frame
    df = runs_frame("wattprint.db", task="text-classification")   # one row per finished run
    store_summary("wattprint.db")                                 # shown as a table in Jupyter

A run's row holds its record's scalar fields as they are (units in the column names: ``_j`` joules, ``_s``
seconds, ``wh_`` watt-hours), its flat mappings spread into ``<field>.<key>`` columns (``phases.decode``,
``scores.accuracy``, ``settings.batch_size``) and the nested rest (components, environment, emissions) as
Python objects. pandas is imported inside these functions only (the ``pandas`` extra).
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from wattprint.core.notebook import esc, notes, require_pandas, table
from wattprint.store.record import RunRecord
from wattprint.store.sqlite import Store

SPREAD = ("phases", "phase_durations", "scores", "settings")
# what must match for runs to be averaged together: never mix protocols, devices, or real and stand-in inputs
GROUP = ("task", "model", "preset", "device", "weights", "workload")
SUMMARY_COLUMNS = GROUP + ("runs", "wh_per_1000", "gco2e_per_1000")
StoreLike = Store | str | os.PathLike[str]


def row(record: RunRecord) -> dict[str, Any]:
    """One record as a row: scalars as they are, flat mappings spread, nested values kept as objects."""
    out: dict[str, Any] = {}
    for key, value in record.to_dict().items():
        if key in SPREAD and isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            out[key] = value
    return out


def records_frame(records: Iterable[RunRecord]) -> Any:
    """A DataFrame of run records, one row each (an empty one still has every record field as a column)."""
    pd = require_pandas("a DataFrame of runs")
    rows = [row(r) for r in records]
    if not rows:
        return pd.DataFrame(columns=[f.name for f in fields(RunRecord) if f.name not in SPREAD])
    return pd.DataFrame(rows)


def _records(store: StoreLike, **filters: Any) -> tuple[list[RunRecord], list[str]]:
    if isinstance(store, Store):
        return store.runs(**filters), store.notices()
    with Store(store, readonly=True) as s:
        return s.runs(**filters), s.notices()


def runs_frame(store: StoreLike, task: str | None = None, model: str | None = None, status: str | None = "finished",
               origin: str | None = None) -> Any:
    """The runs of a store (a :class:`Store` or a path, opened read-only) matching every filter given.

    ``status=None`` takes every status (running, failed, aborted too). What the store left out as invalid is
    listed in ``df.attrs["notices"]``."""
    require_pandas("a DataFrame of runs")
    records, notices = _records(store, task=task, model=model, status=status, origin=origin)
    df = records_frame(records)
    df.attrs["notices"] = notices
    return df


def sweep_frame(store: StoreLike, plan_keys: Iterable[str] | None = None, status: str | None = "finished") -> Any:
    """The runs a sweep wrote (origin "sweep", with their ``node`` and ``gpu_uuids``); ``plan_keys`` keeps one
    plan's: ``[k for job in expand_plan(plan) for k in job.plan_keys]`` (wattprint.cluster.plan)."""
    require_pandas("a DataFrame of a sweep's runs")
    records, notices = _records(store, status=status, origin="sweep")
    if plan_keys is not None:
        wanted = set(plan_keys)
        records = [r for r in records if r.plan_key in wanted]
    df = records_frame(records)
    df.attrs["notices"] = notices
    return df


def _mean(values: Sequence[float | None]) -> float | None:
    got = [v for v in values if v is not None]
    return statistics.fmean(got) if got else None


@dataclass(frozen=True)
class StoreSummary:
    """Counts by status and, per like-for-like group (task, model, preset, device, weights, workload), the
    finished runs' mean Wh and gCO2e per 1,000 inferences. Shown as HTML in Jupyter."""

    path: str
    counts: dict[str, int]
    groups: list[tuple[Any, ...]]  # SUMMARY_COLUMNS
    notices: list[str] = field(default_factory=list)

    def to_dataframe(self) -> Any:
        pd = require_pandas("StoreSummary.to_dataframe()")
        return pd.DataFrame(self.groups, columns=list(SUMMARY_COLUMNS))

    def __repr__(self) -> str:
        counts = ", ".join(f"{n} {s}" for s, n in sorted(self.counts.items())) or "no runs"
        return f"<wattprint store {self.path}: {counts}; {len(self.groups)} task/model groups>"

    def _repr_html_(self) -> str:
        counts = ", ".join(f"{n} {s}" for s, n in sorted(self.counts.items())) or "no runs"
        stand_in = [g for g in self.groups if g[4] == "random" or g[5] == "synthetic"]
        lines = list(self.notices)
        if stand_in:
            lines.append(f"{len(stand_in)} group(s) ran random weights or synthetic inputs (columns weights and "
                         "workload): their energy is the architecture's, not the trained model's on real data")
        return (f"<div><strong>wattprint store</strong> {esc(self.path)}: {esc(counts)}"
                f"{table(SUMMARY_COLUMNS, self.groups)}{notes(lines)}</div>")


def store_summary(store: StoreLike) -> StoreSummary:
    """A :class:`StoreSummary` of ``store`` (a :class:`Store` or a path, opened read-only)."""
    if isinstance(store, Store):
        return _summarise(store)
    with Store(store, readonly=True) as s:
        return _summarise(s)


def _summarise(store: Store) -> StoreSummary:
    groups: dict[tuple[Any, ...], list[RunRecord]] = {}
    for r in store.runs():
        groups.setdefault(tuple(getattr(r, k) for k in GROUP), []).append(r)
    rows = [key + (len(rs), _mean([r.wh_per_1000 for r in rs]), _mean([r.gco2e_per_1000 for r in rs]))
            for key, rs in sorted(groups.items(), key=lambda kv: tuple(str(x) for x in kv[0]))]
    return StoreSummary(store.path, store.counts(), rows, store.notices())
