"""Repeats to results: one row per (task, model, dataset) with mean, std and 95% CI over repeats,
and the per-task table ``wattprint bench`` prints at the end.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from wattprint.bench.stats import Summary, summarize
from wattprint.core.table import aligned
from wattprint.store.record import RunRecord

PHONE_KEYS = ("smartphone", "phone")
SHRUNK_WARNING = "settings shrunk: "  # the runner's prefix (bench/runner.py) for a preset's reduction
SHRUNK_MARK = " [shrunk]"


def shrunk_reason(record: RunRecord) -> str:
    """Why a preset shrank this run's work per inference (fewer denoising steps, a smaller image, capped
    tokens), or "" for a full-size run. Such a figure is not comparable with a full-size run's."""
    reason = record.settings.get("shrunk") if isinstance(record.settings, dict) else None
    if reason:
        return str(reason)
    return next((w[len(SHRUNK_WARNING):] for w in record.warnings if w.startswith(SHRUNK_WARNING)), "")


@dataclass(frozen=True)
class ResultRow:
    task: str
    model: str
    dataset: str
    status: str  # "finished", or the status of a failed or aborted job
    repeats: int
    wh_per_1000: Summary | None
    gpu_wh_per_1000: Summary | None
    gco2e_per_1000: float | None
    phone_charges_per_1000: float | None
    latency_p50_s: float | None
    weights: str
    workload: str
    samples: int = 0  # inputs per repeat
    score: str = "total"  # the headline energy: "total" or "gpu" (aienergyscore)
    shrunk: str = ""  # why the preset shrank the work per inference; "" for a full-size run
    error: str | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)


def _mean(values: Iterable[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return statistics.fmean(vals) if vals else None


def _summary(values: Iterable[float | None]) -> Summary | None:
    vals = [v for v in values if v is not None]
    return summarize(vals) if vals else None


def phone_charges(record: RunRecord) -> float | None:
    """Smartphone charges per 1,000 inferences, from the record's carbon equivalents."""
    for eq in record.equivalents_per_1000:
        name = str(eq.get("name", "")).lower()
        if any(k in name for k in PHONE_KEYS):
            return float(eq["value"])
    return None


def rows(records: Sequence[RunRecord]) -> list[ResultRow]:
    """Group records by (task, model, dataset), in first-seen order; finished repeats make the statistics."""
    groups: dict[tuple[str, str, str], list[RunRecord]] = {}
    for r in records:
        groups.setdefault((r.task, r.model, r.dataset), []).append(r)
    out = []
    for (task, model, dataset), recs in groups.items():
        done = [r for r in recs if r.status == "finished"]
        bad = [r for r in recs if r.status != "finished"]
        ref = done[0] if done else recs[0]
        warnings: list[str] = []
        for r in recs:
            warnings += [w for w in r.warnings if w not in warnings]
        out.append(ResultRow(
            task=task, model=model, dataset=dataset, status="finished" if done else bad[0].status,
            repeats=len(done),
            wh_per_1000=_summary(r.wh_per_1000 for r in done),
            # a GPU score is the protocol's sum (aienergyscore: preprocess + inference window), when recorded
            gpu_wh_per_1000=_summary(r.gpu_wh_per_1000 if r.score_wh_per_1000 is None else r.score_wh_per_1000
                                     for r in done),
            gco2e_per_1000=_mean(r.gco2e_per_1000 for r in done),
            phone_charges_per_1000=_mean(phone_charges(r) for r in done),
            latency_p50_s=_mean(r.latency_p50_s for r in done),
            weights=ref.weights or "-", workload=ref.workload or "-", samples=ref.samples,
            score=str(ref.settings.get("score", "total")), shrunk=shrunk_reason(ref),
            error=None if done else bad[0].error, warnings=tuple(warnings),
        ))
    return out


def _fmt(value: float | None, spec: str = ".3g") -> str:
    return "-" if value is None else format(value, spec)


def _energy(s: Summary | None) -> str:
    if s is None:
        return "-"
    return f"{s.mean:.3g}" if s.std is None else f"{s.mean:.3g} ± {s.std:.2g}"


HEADERS = ("model", "dataset", "Wh/1k (mean ± std)", "gCO2e/1k", "phone charges/1k", "latency p50",
           "repeats", "weights", "inputs")


def _latency(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:.3g} s" if seconds >= 1.0 else f"{seconds * 1000:.3g} ms"


ERROR_CELL_CHARS = 90  # a failed run's reason in the table; the store keeps it whole


def short_error(status: str, error: str | None) -> str:
    """``status: reason`` for a table cell: wattprint's own error class names dropped (the message says it
    all), cut to ``ERROR_CELL_CHARS``."""
    text = re.sub(r"\b(ConfigError|UnknownNameError|WattprintError|BackendUnavailable): ", "", error or "")
    text = f"{status}: {text}"
    return text if len(text) <= ERROR_CELL_CHARS else text[: ERROR_CELL_CHARS - 1] + "…"


def table_cells(row: ResultRow) -> list[str]:
    inputs = f"{row.workload} x {row.samples}" if row.samples else row.workload
    if row.status != "finished":
        return [row.model, row.dataset, short_error(row.status, row.error), "", "", "", "0", row.weights, inputs]
    energy = _energy(row.gpu_wh_per_1000) + " (GPU)" if row.score == "gpu" else _energy(row.wh_per_1000)
    if row.shrunk:
        energy += SHRUNK_MARK  # the note under the table says why (cli/bench.py prints each reason)
    return [row.model, row.dataset, energy, _fmt(row.gco2e_per_1000),
            _fmt(row.phone_charges_per_1000), _latency(row.latency_p50_s), str(row.repeats), row.weights, inputs]


def by_task(result_rows: Sequence[ResultRow]) -> dict[str, list[ResultRow]]:
    tasks: dict[str, list[ResultRow]] = {}
    for row in result_rows:
        tasks.setdefault(row.task, []).append(row)
    return tasks


SHRUNK_FOOTNOTE = (f"{SHRUNK_MARK.strip()}: the preset shrank this task's work per inference (see the settings shrunk "
                   "note); its figure is not comparable with a full-size run's.")


def plain_table(result_rows: Sequence[ResultRow]) -> str:
    """The per-task tables as plain text (for pipes, logs and terminals without rich)."""
    lines: list[str] = []
    for task, task_rows in by_task(result_rows).items():
        cells = [list(HEADERS)] + [table_cells(r) for r in task_rows]
        lines.append(f"\n{task}")
        lines += aligned(cells, indent="  ", rule=True)
    if any(r.shrunk for r in result_rows):
        lines += ["", SHRUNK_FOOTNOTE]
    return "\n".join(lines)


def rich_tables(result_rows: Sequence[ResultRow]) -> list[Any]:
    from rich.table import Table

    tables = []
    for task, task_rows in by_task(result_rows).items():
        caption = SHRUNK_FOOTNOTE if any(r.shrunk for r in task_rows) else None
        table = Table(title=task, title_justify="left", caption=caption, caption_justify="left")
        for h in HEADERS:
            table.add_column(h, justify="right" if h not in ("model", "dataset", "weights", "inputs") else "left")
        for r in task_rows:
            table.add_row(*table_cells(r), style=None if r.status == "finished" else "red")
        tables.append(table)
    return tables
