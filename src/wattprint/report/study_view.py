"""The study-accounting view of a report, per task: the single-card figure, what the study's node accounting
adds to it, and the result (:mod:`wattprint.report.accounting`). Means over the task's models of the primary
kind, so that the columns add up: single card + other GPUs + study RAM - measured RAM = study accounting."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from wattprint.report.accounting import SOURCE, STUDY_GPU, STUDY_NODE_GPUS, STUDY_RAM_W
from wattprint.report.aggregate import ModelRow
from wattprint.report.build import Report
from wattprint.report.fmt import energy_short, sig
from wattprint.report.summary import TaskSummary


@dataclass(frozen=True)
class StudyLine:
    """One task under one protocol, over its primary-kind rows that used a GPU (kWh per 1,000, means)."""

    summary: TaskSummary
    rows: list[ModelRow]
    single: float
    other_gpus: float
    study_ram: float
    measured_ram: float
    study: float

    @property
    def ratio(self) -> float | None:
        return self.study / self.single if self.single > 0 else None

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.summary.task, "preset": self.summary.protocol.preset,
                "shrunk": self.summary.protocol.shrunk, "model_kind": self.summary.primary, "models": len(self.rows),
                "single_card_kwh_per_1000_mean": self.single, "other_gpus_kwh_per_1000_mean": self.other_gpus,
                "study_ram_kwh_per_1000_mean": self.study_ram, "measured_ram_kwh_per_1000_mean": self.measured_ram,
                "study_accounting_kwh_per_1000_mean": self.study, "ratio": self.ratio}


def study_lines(report: Report) -> list[StudyLine]:
    out = []
    for t in report.tasks:
        rows = [r for r in (t.main.rows if t.main else []) if r.study is not None]
        if not rows:
            continue
        studies = [r.study for r in rows if r.study is not None]
        out.append(StudyLine(
            t, rows, statistics.fmean(r.kwh for r in rows), statistics.fmean(s.other_gpus_kwh for s in studies),
            statistics.fmean(s.study_ram_kwh for s in studies), statistics.fmean(s.measured_ram_kwh for s in studies),
            statistics.fmean(s.kwh for s in studies)))
    return out


def method_text() -> str:
    return (f"The study's node had {STUDY_NODE_GPUS} {STUDY_GPU} GPUs, one working while the others idled, and "
            f"counted RAM at a constant {STUDY_RAM_W:.1f} W ({SOURCE}). This view adds to each run the node's other "
            f"GPUs ({STUDY_NODE_GPUS} minus the GPUs the run used) at idle power, and replaces the run's measured "
            f"RAM with {STUDY_RAM_W:.1f} W, both over the run's measured inference windows; CPU stays as measured. "
            "It is a separate view: every other figure of this report is the measurement itself.")


def idle_sources(report: Report) -> list[str]:
    """Each distinct idle-power source used, with the watts behind it."""
    seen: dict[str, list[float]] = {}
    for r in report.rows:
        if r.study is not None:
            seen.setdefault(r.study.idle_source, []).append(r.study.idle_w)
    return [f"idle power per GPU {_span(w)} W: {s}" for s, w in seen.items()]


def _span(watts: list[float]) -> str:
    """'118' or '112-126', as printed (two values that print alike are one)."""
    low, high = sig(min(watts)), sig(max(watts))
    return low if low == high else f"{low}-{high}"


def ratio_sentence(lines: list[StudyLine]) -> str:
    ratios = sorted(r.study.kwh / r.kwh for ln in lines for r in ln.rows if r.study is not None and r.kwh > 0)
    if not ratios:
        return ""
    over = f"these {len(ratios)} configurations" if len(ratios) > 1 else "this configuration"
    return (f"Over {over} the study's accounting is ×{statistics.median(ratios):.1f} "
            f"the single-card figure (median; range ×{ratios[0]:.1f} to ×{ratios[-1]:.1f}): the shorter a model's "
            "inference, the larger the share of the node's idle GPUs and constant RAM.")


HEADERS = ["Task", "Models", "This measurement", "+ idle GPUs", f"+ RAM at {STUDY_RAM_W:.1f} W", "- measured RAM",
           "Study accounting", "×"]


def cells(line: StudyLine) -> list[str]:
    t = line.summary
    return [t.title, f"{len(line.rows)} {t.primary}", energy_short(line.single), energy_short(line.other_gpus),
            energy_short(line.study_ram), energy_short(line.measured_ram), energy_short(line.study),
            "n/a" if line.ratio is None else f"×{line.ratio:.1f}"]


def values(line: StudyLine) -> list[float | None]:
    """The numbers behind :func:`cells` from the third column on (for sorting)."""
    return [line.single, line.other_gpus, line.study_ram, line.measured_ram, line.study, line.ratio]


def row_values(r: ModelRow) -> list[float | None]:
    """The numbers behind :func:`row_cells` from the fourth column on (None where a cell is not a number)."""
    s = r.study
    if s is None:
        return []
    return [r.kwh, None, s.other_gpus_kwh, s.study_ram_kwh, s.measured_ram_kwh, s.kwh,
            s.kwh / r.kwh if r.kwh > 0 else None]


def row_cells(r: ModelRow) -> list[str]:
    s = r.study
    if s is None:
        return []
    return [r.task, r.model, r.preset + (" (shrunk)" if r.shrunk else ""), energy_short(r.kwh),
            f"{s.other_gpus} × {sig(s.idle_w)} W", energy_short(s.other_gpus_kwh), energy_short(s.study_ram_kwh),
            energy_short(s.measured_ram_kwh), energy_short(s.kwh), f"×{s.kwh / r.kwh:.1f}" if r.kwh > 0 else "n/a"]


ROW_HEADERS = ["Task", "Model", "Preset", "This measurement", "Idle GPUs added", "+ idle GPUs",
               f"+ RAM at {STUDY_RAM_W:.1f} W", "- measured RAM", "Study accounting", "×"]
