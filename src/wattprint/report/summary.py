"""Per-task summaries and headlines, each over one comparability key (:mod:`wattprint.report.comparable`).

A task's summary belongs to one protocol (preset, shrunk or full-size); within it every model kind has its own
statistics (task-specific models first, general-purpose ones in their own columns, as in the study's table).
A headline ranks the tasks of one protocol by the median of one kind, and says which.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wattprint.core.units import J_PER_KWH
from wattprint.report.aggregate import ModelRow
from wattprint.report.comparable import KINDS, Comparable, Protocol, primary_kind
from wattprint.report.stats import log_pearson, median


@dataclass
class KindStats:
    """One task's rows of one comparability key. Energies are kWh per 1,000 inferences, over the rows' means."""

    key: Comparable
    rows: list[ModelRow]
    mean: float
    std: float | None
    median: float
    least: ModelRow
    most: ModelRow
    gco2e_median: float | None
    correlation: float | None  # Pearson r of log10(parameters) vs log10(energy)
    n_correlated: int  # rows with a parameter count

    @property
    def n_models(self) -> int:
        return len({r.model for r in self.rows})

    @property
    def spread(self) -> float:
        return self.most.kwh / self.least.kwh if self.least.kwh > 0 else float("inf")

    def to_dict(self) -> dict[str, Any]:
        return {
            "models": self.n_models, "configurations": len(self.rows),
            "kwh_per_1000_mean": self.mean, "kwh_per_1000_std": self.std, "kwh_per_1000_median": self.median,
            "least": {"model": self.least.model, "kwh_per_1000": self.least.kwh},
            "most": {"model": self.most.model, "kwh_per_1000": self.most.kwh},
            "spread": self.spread, "gco2e_per_1000_median": self.gco2e_median,
            "log_log_pearson_r_parameters_energy": self.correlation, "rows_with_parameters": self.n_correlated,
        }


def kind_stats(key: Comparable, rows: list[ModelRow]) -> KindStats:
    values = [r.kwh for r in rows]
    gvals = [r.gco2e_per_1000 for r in rows if r.gco2e_per_1000 is not None]
    with_params = [r for r in rows if r.parameters]
    return KindStats(
        key=key, rows=rows, mean=statistics.fmean(values),
        std=statistics.stdev(values) if len(values) > 1 else None, median=median(values),
        least=min(rows, key=lambda r: r.kwh), most=max(rows, key=lambda r: r.kwh),
        gco2e_median=median(gvals) if gvals else None,
        correlation=log_pearson([float(r.parameters or 0) for r in with_params], [r.kwh for r in with_params]),
        n_correlated=len(with_params),
    )


@dataclass
class TaskSummary:
    """One task under one protocol: statistics per model kind, ``primary`` being the kind headlines use."""

    task: str
    title: str
    protocol: Protocol
    shrunk: str  # the preset's reason where the protocol is shrunk
    kinds: dict[str, KindStats]
    primary: str
    equivalents: list[dict[str, Any]]  # of the primary kind's median

    @property
    def main(self) -> KindStats | None:
        return self.kinds.get(self.primary)

    @property
    def median(self) -> float | None:
        return self.main.median if self.main else None

    @property
    def rows(self) -> list[ModelRow]:
        return [r for k in KINDS if k in self.kinds for r in self.kinds[k].rows]

    def ratio(self, kind: str) -> float | None:
        """Median of ``kind`` over the primary kind's median (e.g. general-purpose over task-specific)."""
        other, main = self.kinds.get(kind), self.main
        if other is None or main is None or kind == self.primary or main.median <= 0:
            return None
        return other.median / main.median

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task, "title": self.title, "preset": self.protocol.preset, "shrunk": self.protocol.shrunk,
            "shrunk_reason": self.shrunk, "primary_kind": self.primary,
            "kinds": {k: s.to_dict() for k, s in self.kinds.items()},
            "median_ratio_to_primary": {k: self.ratio(k) for k in self.kinds if k != self.primary},
            "equivalents_of_primary_median": self.equivalents,
        }


@dataclass
class Headline:
    """Tasks of one protocol ranked by the median of one model kind (most frugal first)."""

    key: Comparable
    ranked: list[TaskSummary]
    unranked: list[TaskSummary]  # tasks of the protocol without a row of this kind

    @property
    def rows(self) -> list[ModelRow]:
        return [r for t in self.ranked if t.main for r in t.main.rows]

    @property
    def least(self) -> ModelRow:
        return min(self.rows, key=lambda r: r.kwh)

    @property
    def most(self) -> ModelRow:
        return max(self.rows, key=lambda r: r.kwh)

    def label(self) -> str:
        return f"over {self.key.label()} ({len(self.ranked)} task{'s' if len(self.ranked) != 1 else ''})"

    def to_dict(self) -> dict[str, Any]:
        lo, hi = self.ranked[0], self.ranked[-1]
        return {
            "over": self.key.to_dict(), "label": self.label(),
            "most_frugal_task": {"task": lo.task, "kwh_per_1000_median": lo.median},
            "most_energy_hungry_task": {"task": hi.task, "kwh_per_1000_median": hi.median},
            "spread_across_models": {"least": self.least.model, "most": self.most.model,
                                     "ratio": self.most.kwh / self.least.kwh if self.least.kwh > 0 else None},
            "tasks_ranked": [t.task for t in self.ranked], "tasks_not_ranked": [t.task for t in self.unranked],
        }


def task_title(task: str) -> str:
    """The registry's title for a task, or the name itself for a task this install does not know."""
    from wattprint.core.errors import UnknownNameError

    try:
        from wattprint.tasks.registry import get_task

        return get_task(task).title
    except (ImportError, UnknownNameError):
        return task


def equivalents_of(kwh: float, gco2e: float | None) -> list[dict[str, Any]]:
    try:
        from wattprint.carbon import equivalents
    except ImportError:
        return []
    out = []
    for e in equivalents(energy_j=kwh * J_PER_KWH, gco2e=gco2e):
        out.append({k: getattr(e, k, None) for k in ("key", "name", "value", "unit", "constant", "source")})
    return out


def _order(t: TaskSummary) -> tuple[bool, float, str]:
    return (t.median is None, t.median or 0.0, t.task)


def summarize_tasks(rows: Sequence[ModelRow]) -> list[TaskSummary]:
    """One summary per (protocol, task): full-size protocols first, then by preset; within a protocol, tasks by
    the primary kind's median (tasks without that kind last)."""
    by_protocol: dict[Protocol, dict[str, list[ModelRow]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        by_protocol[r.comparable.protocol][r.task].append(r)
    out: list[TaskSummary] = []
    for proto in sorted(by_protocol):
        tasks = by_protocol[proto]
        primary = primary_kind({r.comparable.kind for rs in tasks.values() for r in rs})
        summaries = [_summary(proto, task, rs, primary) for task, rs in tasks.items()]
        out += sorted(summaries, key=_order)
    return out


def _summary(proto: Protocol, task: str, rows: list[ModelRow], primary: str) -> TaskSummary:
    by_kind: dict[str, list[ModelRow]] = defaultdict(list)
    for r in rows:
        by_kind[r.comparable.kind].append(r)
    kinds = {k: kind_stats(Comparable(proto.preset, proto.shrunk, k), by_kind[k]) for k in KINDS if k in by_kind}
    main = kinds.get(primary)
    eq = equivalents_of(main.median, main.gco2e_median) if main else []
    return TaskSummary(task, task_title(task), proto, next((r.shrunk for r in rows if r.shrunk), ""), kinds,
                       primary, eq)


def headlines(summaries: Sequence[TaskSummary]) -> list[Headline]:
    """One headline per full-size protocol (per shrunk protocol only where no protocol is full-size), over its
    primary kind; a protocol none of whose tasks has a row of that kind has none."""
    protocols = list(dict.fromkeys(t.protocol for t in summaries))
    chosen = [p for p in protocols if not p.shrunk] or protocols
    out = []
    for p in chosen:
        members = [t for t in summaries if t.protocol == p]
        ranked = [t for t in members if t.main is not None]
        if ranked:
            key = Comparable(p.preset, p.shrunk, ranked[0].primary)
            out.append(Headline(key, ranked, [t for t in members if t.main is None]))
    return out
