"""From run records to report rows: one row per (task, model, preset, dataset, weights, workload), full-size
and shrunk runs apart (:mod:`wattprint.report.comparable`).

Repeats of one configuration are aggregated into a mean, a sample standard deviation and a 95 % t
confidence interval of the energy per 1,000 inferences (kWh). Records without an inference count
(nothing to divide by) are kept aside and listed, never silently dropped.
"""

from __future__ import annotations

import datetime as _dt
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from wattprint.bench.summary import shrunk_reason
from wattprint.core.units import J_PER_KWH
from wattprint.report.accounting import IdleLookup, StudyRow, study_account, study_row
from wattprint.report.comparable import Comparable, kind_of
from wattprint.report.stats import Summary, summarize
from wattprint.store.record import RunRecord

GROUP_FIELDS = ("task", "model", "preset", "dataset", "weights", "workload")


def kwh_per_1000(r: RunRecord) -> float | None:
    """Total (GPU + CPU + RAM) kWh per 1,000 inferences of one record, or None without inferences."""
    if r.wh_per_1000 is not None:
        return r.wh_per_1000 / 1000.0
    if r.inferences > 0:
        return r.energy_j / r.inferences * 1000.0 / J_PER_KWH
    return None


def gco2e_per_1000(r: RunRecord) -> float | None:
    """gCO2e per 1,000 inferences as stored with the record (its own intensity and provenance)."""
    if r.gco2e_per_1000 is not None:
        return r.gco2e_per_1000
    if r.gco2e is not None and r.inferences > 0:
        return r.gco2e / r.inferences * 1000.0
    return None


def hardware_of(r: RunRecord) -> str:
    """A short description of what ran the model: GPU names (with count), else the CPU model."""
    env = r.environment or {}
    gpus = env.get("gpus") or []
    names = [g.get("name", "") if isinstance(g, dict) else str(g) for g in gpus]
    if r.gpu_uuids and isinstance(gpus, list) and gpus and isinstance(gpus[0], dict):
        used = [g.get("name", "") for g in gpus if g.get("uuid") in r.gpu_uuids]
        names = used or names
    names = [n for n in names if n] or ([env["gpu_model"]] if env.get("gpu_model") else [])
    if names:
        first = names[0]
        count = len(names) if len(set(names)) == 1 else None
        return f"{count}× {first}" if count and count > 1 else ", ".join(dict.fromkeys(names))
    cpu = env.get("cpu_model") or (env.get("hardware") or {}).get("cpu_model")
    if cpu:
        return f"CPU: {cpu}"
    return r.device or "unknown"


def methods_of(r: RunRecord) -> str:
    """How each component's energy was obtained, e.g. "gpu counter, cpu estimated, ram estimated"."""
    if r.origin == "codecarbon":
        mode = (r.environment.get("codecarbon") or {}).get("tracking_mode") or "?"
        return f"codecarbon (tracking_mode={mode}; measured or estimated not recorded)"
    seen: dict[str, str] = {}
    for c in r.components:
        seen.setdefault(str(c.get("kind", "?")), str(c.get("method", "?")))
    return ", ".join(f"{k} {m}" for k, m in seen.items()) or "not recorded"


@dataclass
class ModelRow:
    """One aggregated configuration of one model on one task (the unit of every table and chart point)."""

    task: str
    model: str
    preset: str
    dataset: str
    weights: str
    workload: str
    runs: int
    energy: Summary  # kWh per 1,000 inferences
    gco2e_per_1000: float | None
    carbon_source: str
    parameters: int | None
    model_kind: str
    hardware: str
    methods: str
    origins: list[str]
    nodes: list[str]
    gpu_uuids: list[str]
    date: str  # ISO date of the latest run
    scores: dict[str, float] = field(default_factory=dict)
    inferences: int = 0  # per run (the largest seen)
    warnings: list[str] = field(default_factory=list)
    stars: int | None = None
    rating_class: str = ""  # the band group the stars were computed in ("all", "<= 20B"...)
    shrunk: str = ""  # why the preset shrank the work per inference; "" for full-size runs
    study: StudyRow | None = None  # the study-accounting view (never mixed into ``energy``)
    safety_checker: bool | None = None  # whether an SD 1.x safety checker ran (None: the task has none)
    # the preset's score (aienergyscore: GPU energy of preprocess + inference), Wh per 1,000, mean over runs
    score_wh_per_1000: float | None = None
    score_basis: str = ""
    preprocess_gpu_wh_per_1000: float | None = None  # GPU energy of the preprocess phase alone, Wh per 1,000
    driver: str = ""  # what the records say ran the model: "direct", "pipeline: ..." ("" in older records)

    @property
    def kwh(self) -> float:
        return self.energy.mean

    @property
    def comparable(self) -> Comparable:
        return Comparable(self.preset, bool(self.shrunk), kind_of(self.model_kind))

    @property
    def origin(self) -> str:
        return ", ".join(self.origins)

    def details(self) -> list[str]:
        """What the records say beyond the total: driver, safety checker, preprocess-phase GPU energy, score."""
        out = []
        if self.driver and self.driver != "direct":  # plain direct is every preset's default: not said
            out.append(self.driver.split(", ")[0] if driver_kind(self.driver) == "pipeline" else self.driver)
        if self.safety_checker is not None:
            out.append("safety checker " + ("ran" if self.safety_checker else "not run"))
        if self.preprocess_gpu_wh_per_1000 is not None:
            out.append(f"preprocess GPU {self.preprocess_gpu_wh_per_1000:.4g} Wh / 1,000")
        if self.score_wh_per_1000 is not None:
            basis = self.score_basis.split(",")[0]
            out.append(f"score {self.score_wh_per_1000:.4g} Wh / 1,000" + (f" ({basis})" if basis else ""))
        return out

    def key(self) -> tuple[str | bool, ...]:
        return (*(getattr(self, f) for f in GROUP_FIELDS), bool(self.shrunk), driver_kind(self.driver))

    def to_dict(self) -> dict[str, Any]:
        d = {f: getattr(self, f) for f in GROUP_FIELDS}
        d.update(
            runs=self.runs, kwh_per_1000_mean=self.energy.mean, kwh_per_1000_std=self.energy.std,
            kwh_per_1000_ci95_low=self.energy.ci_low, kwh_per_1000_ci95_high=self.energy.ci_high,
            gco2e_per_1000=self.gco2e_per_1000, carbon_source=self.carbon_source,
            parameters=self.parameters, model_kind=self.model_kind, hardware=self.hardware,
            energy_methods=self.methods, origin=self.origin, nodes=self.nodes, gpu_uuids=self.gpu_uuids,
            date=self.date, scores=self.scores, inferences_per_run=self.inferences, stars=self.stars,
            rating_class=self.rating_class, warnings=self.warnings, shrunk=self.shrunk,
            study_accounting=self.study.to_dict() if self.study else None,
            safety_checker=self.safety_checker, score_wh_per_1000=self.score_wh_per_1000,
            score_basis=self.score_basis, preprocess_gpu_wh_per_1000=self.preprocess_gpu_wh_per_1000,
            driver=self.driver,
        )
        return d


def driver_kind(driver: str) -> str:
    """"pipeline" or "direct" (a fallback from an asked pipeline ran direct), "" when the record predates it."""
    return "pipeline" if driver.startswith("pipeline") else ("direct" if driver else "")


def record_key(r: RunRecord) -> tuple[str | bool, ...]:
    """The row a finished record belongs to: its configuration, shrunk or full-size, and how the model was
    driven (a transformers pipeline call and a direct call are different work per input)."""
    return (*(getattr(r, f) for f in GROUP_FIELDS), bool(shrunk_reason(r)), driver_kind(r.driver))


def _date(records: list[RunRecord]) -> str:
    ts = max((r.finished_at or r.started_at or 0.0) for r in records)
    if not ts:
        return ""
    return _dt.datetime.fromtimestamp(ts, tz=_dt.timezone.utc).date().isoformat()


def _carbon(records: list[RunRecord]) -> tuple[float | None, str]:
    vals = [v for v in (gco2e_per_1000(r) for r in records) if v is not None]
    if not vals:
        return None, ""
    em = next((r.emissions for r in records if r.emissions), None) or {}
    return statistics.fmean(vals), carbon_provenance(em)


def carbon_provenance(em: dict[str, Any]) -> str:
    """"zone · year · source · method" from an Emissions.to_dict() (intensity nested or flat)."""
    nested = em.get("intensity")
    flat = {**(nested if isinstance(nested, dict) else {}), **em}
    flat.pop("intensity", None)
    parts = [str(flat.get(k)) for k in ("zone", "year", "source", "method") if flat.get(k) not in (None, "")]
    return " · ".join(parts)


def _scores(records: list[RunRecord]) -> dict[str, float]:
    acc: dict[str, list[float]] = defaultdict(list)
    for r in records:
        for k, v in (r.scores or {}).items():
            if isinstance(v, (int, float)):
                acc[k].append(float(v))
    return {k: statistics.fmean(v) for k, v in acc.items()}


def _mean(values: Iterable[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return statistics.fmean(vals) if vals else None


def _preprocess_gpu_wh(r: RunRecord) -> float | None:
    if r.preprocess_gpu_energy_j is None or not r.inferences:
        return None
    return r.preprocess_gpu_energy_j / 3600.0 / r.inferences * 1000


def _phase_fields(records: list[RunRecord]) -> dict[str, Any]:
    """Safety checker, preset score and preprocess-phase GPU energy, as the records hold them."""
    checkers = {r.safety_checker for r in records if r.safety_checker is not None}
    return dict(
        safety_checker=(True in checkers) if checkers else None,
        score_wh_per_1000=_mean(r.score_wh_per_1000 for r in records),
        score_basis=next((r.score_basis for r in records if r.score_basis), ""),
        preprocess_gpu_wh_per_1000=_mean(_preprocess_gpu_wh(r) for r in records),
        driver=" / ".join(dict.fromkeys(r.driver for r in records if r.driver)),
    )


def _row(records: list[RunRecord], idle: IdleLookup) -> ModelRow:
    first = records[0]
    energies = [kwh_per_1000(r) for r in records]
    gco2e, carbon_src = _carbon(records)
    warnings = list(dict.fromkeys(w for r in records for w in r.warnings))
    return ModelRow(
        task=first.task, model=first.model, preset=first.preset, dataset=first.dataset,
        weights=first.weights or "unknown", workload=first.workload or "unknown",
        runs=len(records), energy=summarize([e for e in energies if e is not None]),
        gco2e_per_1000=gco2e, carbon_source=carbon_src,
        parameters=next((r.parameters for r in records if r.parameters), None),
        model_kind=first.model_kind, hardware=hardware_of(first), methods=methods_of(first),
        origins=sorted({r.origin for r in records}),
        nodes=sorted({r.node for r in records if r.node}),
        gpu_uuids=sorted({u for r in records for u in r.gpu_uuids}),
        date=_date(records), scores=_scores(records),
        inferences=max(r.inferences for r in records), warnings=warnings, shrunk=shrunk_reason(first),
        study=study_row([a for a in (study_account(r, idle) for r in records) if a is not None]),
        **_phase_fields(records),
    )


@dataclass
class Aggregated:
    rows: list[ModelRow]
    without_inferences: list[RunRecord]  # finished records with nothing to divide by


def aggregate(records: Iterable[RunRecord]) -> Aggregated:
    """Group finished records by configuration (shrunk and full-size runs apart, pipeline and direct runs
    apart); rows come sorted by task, then energy."""
    records = list(records)
    groups: dict[tuple, list[RunRecord]] = defaultdict(list)
    skipped: list[RunRecord] = []
    for r in records:
        if r.status != "finished" or r.serving:  # serve-bench levels: `wattprint serve-bench --from-store --report`
            continue
        if kwh_per_1000(r) is None:
            skipped.append(r)
            continue
        groups[record_key(r)].append(r)
    idle = IdleLookup(records)
    rows = [_row(sorted(g, key=lambda r: r.repeat), idle) for g in groups.values()]
    rows.sort(key=lambda row: (row.task, row.kwh, row.model))
    return Aggregated(rows, skipped)
