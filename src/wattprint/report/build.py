"""The report as data: rows, per-task summaries, correlations, ratings. Writers only format this."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from wattprint.core.units import J_PER_KWH
from wattprint.report.aggregate import ModelRow, aggregate
from wattprint.report.comparable import Protocol
from wattprint.report.rating import rate
from wattprint.report.summary import Headline, TaskSummary, headlines, summarize_tasks
from wattprint.store.record import RunRecord


@dataclass
class Report:
    rows: list[ModelRow]
    tasks: list[TaskSummary]  # per (protocol, task): full-size protocols first, each most frugal task first
    without_inferences: list[RunRecord]
    star_scale: str
    generated_at: str
    carbon_note: str
    notes: list[str] = field(default_factory=list)
    breakeven: list[dict[str, Any]] = field(default_factory=list)  # rows whose model has a published training energy
    headlines: list[Headline] = field(default_factory=list)

    def rows_of(self, task: str) -> list[ModelRow]:
        return [r for r in self.rows if r.task == task]

    @property
    def protocols(self) -> list[Protocol]:
        return list(dict.fromkeys(t.protocol for t in self.tasks))

    def summaries_of(self, protocol: Protocol) -> list[TaskSummary]:
        return [t for t in self.tasks if t.protocol == protocol]

    def task_order(self) -> list[str]:
        """Distinct tasks, in the order of the first headline's ranking, then the rest by name."""
        first = [t.task for t in self.headlines[0].ranked] if self.headlines else []
        return first + sorted({t.task for t in self.tasks} - set(first))

    def to_dict(self) -> dict[str, Any]:
        return {
            "generated_at": self.generated_at, "star_scale": self.star_scale, "carbon": self.carbon_note,
            "unit": "kWh per 1,000 inferences (GPU + CPU + RAM, measured inference windows only)",
            "comparable": "summaries, medians and headlines never mix presets, shrunk and full-size runs, or "
                          "model kinds; study_accounting is a separate view (the study's node accounting added)",
            "headlines": [h.to_dict() for h in self.headlines],
            "tasks": [t.to_dict() for t in self.tasks], "rows": [r.to_dict() for r in self.rows],
            "runs_without_inference_count": [r.run_id for r in self.without_inferences], "notes": self.notes,
            "breakeven": self.breakeven,
        }


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
    summaries = summarize_tasks(rows)
    stamp = _dt.datetime.fromtimestamp(now, tz=_dt.timezone.utc) if now else _dt.datetime.now(_dt.timezone.utc)
    notes = []
    if any(r.weights == "random" for r in rows):
        notes.append("Some models ran with random weights (built from their architecture config): their energy "
                     "is representative of the architecture, their outputs and accuracy are not.")
    if any(r.workload == "synthetic" for r in rows):
        notes.append("Some inputs are synthetic, matched to the dataset's published length statistics.")
    for reason in sorted({r.shrunk for r in rows if r.shrunk}):
        notes.append(f"Shrunk runs (marked shrunk wherever their figure is shown): {reason}. They are summarised "
                     f"apart and never averaged or ranked with full-size runs.")
    return Report(rows, summaries, agg.without_inferences, star_scale,
                  stamp.strftime("%Y-%m-%d %H:%M UTC"), carbon_note, notes, breakeven_rows(rows),
                  headlines(summaries))
