"""The report as data: rows, per-task summaries, correlations, ratings. Writers only format this."""

from __future__ import annotations

import datetime as _dt
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from wattprint.store.record import RunRecord
from wattprint.core.units import J_PER_KWH
from wattprint.report.aggregate import ModelRow, aggregate
from wattprint.report.rating import rate
from wattprint.report.stats import log_pearson, median


@dataclass
class TaskSummary:
    """One task across its rows. Energies are kWh per 1,000 inferences, over the rows' means."""

    task: str
    title: str
    n_models: int  # distinct model names
    n_rows: int  # aggregated configurations (a model under two presets is two rows)
    mean: float
    std: float | None
    median: float
    least: ModelRow
    most: ModelRow
    gco2e_median: float | None
    equivalents: list[dict[str, Any]]
    correlation: float | None  # Pearson r of log10(parameters) vs log10(energy)
    n_correlated: int  # rows with a parameter count

    @property
    def spread(self) -> float:
        return self.most.kwh / self.least.kwh if self.least.kwh > 0 else float("inf")

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task, "title": self.title, "models": self.n_models, "configurations": self.n_rows,
            "kwh_per_1000_mean": self.mean, "kwh_per_1000_std": self.std,
            "kwh_per_1000_median": self.median,
            "least": {"model": self.least.model, "kwh_per_1000": self.least.kwh},
            "most": {"model": self.most.model, "kwh_per_1000": self.most.kwh},
            "spread": self.spread, "gco2e_per_1000_median": self.gco2e_median,
            "equivalents_of_median": self.equivalents,
            "log_log_pearson_r_parameters_energy": self.correlation, "rows_with_parameters": self.n_correlated,
        }


@dataclass
class Report:
    rows: list[ModelRow]
    tasks: list[TaskSummary]  # ordered by median energy, most frugal task first
    without_inferences: list[RunRecord]
    star_scale: str
    generated_at: str
    carbon_note: str
    notes: list[str] = field(default_factory=list)
    breakeven: list[dict[str, Any]] = field(default_factory=list)  # rows whose model has a published training energy

    def rows_of(self, task: str) -> list[ModelRow]:
        return [r for r in self.rows if r.task == task]

    def to_dict(self) -> dict[str, Any]:
        return {
            "generated_at": self.generated_at, "star_scale": self.star_scale, "carbon": self.carbon_note,
            "unit": "kWh per 1,000 inferences (GPU + CPU + RAM, measured inference windows only)",
            "tasks": [t.to_dict() for t in self.tasks], "rows": [r.to_dict() for r in self.rows],
            "runs_without_inference_count": [r.run_id for r in self.without_inferences], "notes": self.notes,
            "breakeven": self.breakeven,
        }


def task_title(task: str) -> str:
    """The registry's title for a task, or the name itself for a task this install does not know."""
    from wattprint.core.errors import UnknownNameError

    try:
        from wattprint.tasks.registry import get_task

        return get_task(task).title
    except (ImportError, UnknownNameError):
        return task


def _equivalents(kwh: float, gco2e: float | None) -> list[dict[str, Any]]:
    try:
        from wattprint.carbon import equivalents
    except ImportError:
        return []
    out = []
    for e in equivalents(energy_j=kwh * J_PER_KWH, gco2e=gco2e):
        out.append({k: getattr(e, k, None) for k in ("key", "name", "value", "unit", "constant", "source")})
    return out


def fill_carbon(rows: Iterable[ModelRow], location: Any) -> str:
    """Give rows stored without carbon a gCO2e per 1,000 from ``location``; says what was used."""
    if location is None:
        return "carbon as stored with each run"
    from wattprint.carbon import emissions_for

    note = ""
    for row in rows:
        if row.gco2e_per_1000 is not None:
            continue
        em = emissions_for(row.kwh * J_PER_KWH, location)
        row.gco2e_per_1000 = em.gco2e
        row.carbon_source = " · ".join(
            str(v) for v in (em.zone, em.year, em.source, em.method) if v not in (None, "")
        )
        note = f"runs stored without carbon: {em.intensity_g_per_kwh:g} gCO2e/kWh ({row.carbon_source})"
    return note or "carbon as stored with each run"


def summarize_task(task: str, rows: list[ModelRow]) -> TaskSummary:
    values = [r.kwh for r in rows]
    least = min(rows, key=lambda r: r.kwh)
    most = max(rows, key=lambda r: r.kwh)
    gvals = [r.gco2e_per_1000 for r in rows if r.gco2e_per_1000 is not None]
    with_params = [r for r in rows if r.parameters]
    med = median(values)
    gmed = median(gvals) if gvals else None
    return TaskSummary(
        task=task, title=task_title(task), n_models=len({r.model for r in rows}), n_rows=len(rows),
        mean=statistics.fmean(values), std=statistics.stdev(values) if len(values) > 1 else None,
        median=med, least=least, most=most, gco2e_median=gmed, equivalents=_equivalents(med, gmed),
        correlation=log_pearson([r.parameters for r in with_params], [r.kwh for r in with_params]),
        n_correlated=len(with_params),
    )


QUERIES_PER_DAY = 1_000_000  # the rate the report's break-even days assume (stated beside them)


def breakeven_rows(rows: Iterable[ModelRow]) -> list[dict[str, Any]]:
    """Break-even (training + finetuning energy / measured energy per inference) for rows whose model is in
    the published training-energy table."""
    from wattprint.core.errors import UnknownNameError
    from wattprint.report.breakeven import break_even, training_figure

    out = []
    for row in rows:
        try:
            fig = training_figure(row.model)
        except UnknownNameError:
            continue
        if row.kwh <= 0:
            continue
        be = break_even(fig.total_kwh(), row.kwh / 1000.0, QUERIES_PER_DAY, fig.source, "this report")
        out.append({"task": row.task, "model": row.model, "preset": row.preset, "training_kwh": fig.total_kwh(),
                    "basis": fig.basis, "source": fig.source, "kwh_per_inference": row.kwh / 1000.0,
                    "inferences": be.inferences, "days_at_1m_per_day": be.days})
    return out


def build_report(
    records: Iterable[RunRecord], *, location: Any = None, star_scale: str = "log",
    tasks: Iterable[str] | None = None, now: float | None = None,
) -> Report:
    """Aggregate, rate and summarise ``records``. ``location`` fills carbon for runs stored without it."""
    agg = aggregate(records)
    rows = [r for r in agg.rows if tasks is None or r.task in set(tasks)]
    carbon_note = fill_carbon(rows, location)
    rate(rows, star_scale)
    by_task: dict[str, list[ModelRow]] = defaultdict(list)
    for r in rows:
        by_task[r.task].append(r)
    summaries = sorted((summarize_task(t, rs) for t, rs in by_task.items()), key=lambda s: (s.median, s.task))
    stamp = _dt.datetime.fromtimestamp(now, tz=_dt.timezone.utc) if now else _dt.datetime.now(_dt.timezone.utc)
    notes = []
    if any(r.weights == "random" for r in rows):
        notes.append("Some models ran with random weights (built from their architecture config): their energy "
                     "is representative of the architecture, their outputs and accuracy are not.")
    if any(r.workload == "synthetic" for r in rows):
        notes.append("Some inputs are synthetic, matched to the dataset's published length statistics.")
    return Report(rows, summaries, agg.without_inferences, star_scale,
                  stamp.strftime("%Y-%m-%d %H:%M UTC"), carbon_note, notes, breakeven_rows(rows))
