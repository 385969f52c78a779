"""Task-specific against general-purpose: the same task, the same protocol, measured the same way.

Each model runs as a benchmark job through :func:`wattprint.bench.runner.run_job` (the same meter,
windows, warm-up and store as ``wattprint bench``). The zero-shot prompting of a general-purpose model
lives in the task itself (``wattprint.tasks.text_classification.PROMPT``, and the QA and summarization
tasks' prompts), so a benchmark run and a comparison prompt a model identically; this module chooses the
jobs, runs them, and compares energy and quality.

Inputs: with ``workload="dataset"`` both models see the same rows (same dataset, split and seed). With
synthetic inputs each model gets texts drawn with the same seed and matched to the same length
statistics in its own tokenizer: the same distribution, not the same strings. The comparison says which.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from wattprint.store.record import RunRecord
from wattprint.core.errors import ConfigError
from wattprint.report.aggregate import kwh_per_1000

COMPARE_TASKS = ("text-classification", "question-answering", "summarization")
# the score each task reports, best first (the first one a record has is shown)
METRICS = ("accuracy", "f1", "exact_match", "rougeL", "rouge1", "rouge2")
DEFAULT_METRIC = {"text-classification": "accuracy", "question-answering": "f1", "summarization": "rougeL"}


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


@dataclass(frozen=True)
class CompareRow:
    model: str
    role: str  # "specific" or "general"
    kind: str
    parameters: int | None
    runs: int
    kwh_per_1000: float
    kwh_per_1000_std: float | None
    metric: str
    score: float | None
    score_note: str  # why there is no score ("n/a (random weights)"), else ""
    weights: str
    workload: str
    workload_description: str


@dataclass(frozen=True)
class Comparison:
    task: str
    rows: tuple[CompareRow, ...]
    same_inputs: str  # "identical rows" or "same distribution (synthetic)"

    def ratio(self, general: CompareRow, specific: CompareRow) -> float:
        return general.kwh_per_1000 / specific.kwh_per_1000

    def pairs(self) -> list[tuple[CompareRow, CompareRow, float]]:
        spec = [r for r in self.rows if r.role == "specific"]
        gen = [r for r in self.rows if r.role == "general"]
        return [(g, s, self.ratio(g, s)) for g in gen for s in spec]

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.task, "inputs": self.same_inputs, "rows": [r.__dict__ for r in self.rows],
                "ratios": [{"general": g.model, "specific": s.model, "energy_ratio": x} for g, s, x in self.pairs()]}


def _score(records: list[RunRecord]) -> tuple[str, float | None, str]:
    for m in METRICS:
        vals = [r.scores[m] for r in records if m in (r.scores or {})]
        if vals:
            return m, statistics.fmean(vals), ""
    metric = DEFAULT_METRIC.get(records[0].task, "accuracy")
    weights = records[0].weights
    if weights != "pretrained":
        return metric, None, f"n/a ({weights or 'unknown'} weights)"
    return metric, None, "n/a (no labels: synthetic inputs)" if records[0].workload != "dataset" else "n/a"


def _row(model: str, role: str, records: list[RunRecord]) -> CompareRow:
    vals = [v for v in (kwh_per_1000(r) for r in records) if v is not None]
    if not vals:
        raise ConfigError(f"no finished run of {model} with an inference count", "see the runs' errors in the store")
    metric, score, note = _score(records)
    first = records[0]
    return CompareRow(model, role, first.model_kind, first.parameters, len(vals), statistics.fmean(vals),
                      statistics.stdev(vals) if len(vals) > 1 else None, metric, score, note, first.weights,
                      first.workload, first.workload_description)


def comparison_from_records(req: CompareRequest, records: Sequence[RunRecord]) -> Comparison:
    """Compare the finished records of the request's models on its task (from a run or a store)."""
    rows = []
    for role, models in (("specific", req.specific), ("general", req.general)):
        for m in models:
            mine = [r for r in records if r.model == m and r.task == req.task and r.status == "finished"]
            if not mine:
                failed = [r for r in records if r.model == m and r.status != "finished"]
                why = f": {failed[0].error}" if failed else ""
                raise ConfigError(f"no finished run of {m} on {req.task}{why}",
                                  "check the model name (wattprint models) or run it with wattprint bench")
            rows.append(_row(m, role, mine))
    workloads = {r.workload for r in rows}
    same = "identical rows (same dataset, split and seed)" if workloads == {"dataset"} else \
        "same length distribution and seed, drawn in each model's tokenizer (synthetic)"
    return Comparison(req.task, tuple(rows), same)


def run_compare(req: CompareRequest, *, store: Any = None, meter_factory: Callable[..., Any] | None = None,
                location: Any = None, progress: Any = None) -> Comparison:
    """Run every model of the request as a benchmark job (stored when ``store`` is given) and compare."""
    from wattprint.bench.plan import expand
    from wattprint.bench.runner import run_job

    models = list(req.specific) + list(req.general)
    jobs = expand(req.preset, [req.task], models, req.overrides)
    records: list[RunRecord] = []
    for job in jobs:
        records += run_job(job, store=store, meter_factory=meter_factory, location=location, progress=progress)
    return comparison_from_records(req, records)
