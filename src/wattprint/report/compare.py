"""Task-specific against general-purpose: the same task, the same protocol, measured the same way.

Each model runs as a benchmark job (:func:`wattprint.bench.compare.run_jobs`: the same meter, windows, warm-up
and store as ``wattprint bench``). The zero-shot prompting of a general-purpose model lives in the task itself
(``wattprint.tasks.text_classification.PROMPT``, and the QA and summarization tasks' prompts), so a benchmark
run and a comparison prompt a model identically; this module compares the runs' energy and quality.

Inputs: with ``workload="dataset"`` both models see the same rows (same dataset, split and seed). With
synthetic inputs each model gets texts drawn with the same seed and matched to the same length
statistics in its own tokenizer: the same distribution, not the same strings. The comparison says which.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wattprint.bench.compare import CompareRequest
from wattprint.bench.stats import t_quantile
from wattprint.core.errors import ConfigError
from wattprint.report.aggregate import kwh_per_1000
from wattprint.store.record import RunRecord

# the score each task reports, best first (the first one a record has is shown)
METRICS = ("accuracy", "f1", "exact_match", "rougeL", "rouge1", "rouge2")
CONFIDENCE = 0.95  # of the energy ratio's interval
DEFAULT_METRIC = {"text-classification": "accuracy", "question-answering": "f1", "summarization": "rougeL"}


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
        ratios = []
        for g, s, x in self.pairs():
            ci = ratio_interval(g, s)
            ratios.append({"general": g.model, "specific": s.model, "energy_ratio": x,
                           "energy_ratio_low": ci[0] if ci else None, "energy_ratio_high": ci[1] if ci else None,
                           "confidence": CONFIDENCE, "repeats": [g.runs, s.runs]})
        return {"task": self.task, "inputs": self.same_inputs, "rows": [r.__dict__ for r in self.rows],
                "ratios": ratios}


def ratio_interval(general: CompareRow, specific: CompareRow,
                   confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """The ``confidence`` interval of the ratio of the two mean energies, from the spread of the repeats.

    Each mean's relative standard error (std / mean / sqrt(n)) is propagated to the log of the ratio (first-
    order, the delta method) and the interval is Student's t on it, with Welch-Satterthwaite degrees of
    freedom; exponentiated, it is asymmetric around the ratio, as a ratio's uncertainty is. None when either
    model has fewer than two repeats (one repeat says nothing about spread).
    """
    g, s = general, specific
    if g.runs < 2 or s.runs < 2 or g.kwh_per_1000_std is None or s.kwh_per_1000_std is None:
        return None
    ratio = g.kwh_per_1000 / s.kwh_per_1000
    a = (g.kwh_per_1000_std / g.kwh_per_1000) ** 2 / g.runs
    b = (s.kwh_per_1000_std / s.kwh_per_1000) ** 2 / s.runs
    if a + b == 0.0:
        return ratio, ratio
    df = (a + b) ** 2 / (a * a / (g.runs - 1) + b * b / (s.runs - 1))
    half = t_quantile(0.5 + confidence / 2.0, df) * math.sqrt(a + b)
    return ratio * math.exp(-half), ratio * math.exp(half)


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
