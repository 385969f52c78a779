"""A level's summary as a store record: the same RunRecord as every benchmark run (identity, energy with its
components and methods, environment, carbon, warnings), with the serving figures in ``serving``.

``task`` is ``serving``, ``preset`` ``serve-bench``, ``repeat`` the level's position in the sweep and
``batch_size`` the concurrency (0 for an open-loop rate). ``inferences`` are the requests counted in the
steady window (rounded; the exact share is in ``serving.requests.in_window``).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from wattprint.core.units import J_PER_WH
from wattprint.store.record import RunRecord

TASK = "serving"
PRESET = "serve-bench"


@dataclass(frozen=True)
class SweepContext:
    """What stays the same across the levels of one sweep."""

    model: str
    target: dict[str, Any]  # url, api, force, launched command
    workload: dict[str, Any]
    load: dict[str, Any]
    weights: str = "unknown"  # what the user says the engine serves: "random", "pretrained", "unknown"
    dtype: str = ""
    device: str = ""
    gpu_uuids: list[str] = field(default_factory=list)
    environment: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    meter: dict[str, Any] = field(default_factory=dict)


def _warnings(s: dict[str, Any]) -> list[str]:
    out = []
    w = s["window"]
    if not w["found"]:
        out.append(f"no steady state found ({w['reason']}): figures are over the whole level; raise --duration")
    if s["client"]["saturated"]:
        out.append(f"client saturated: {s['client']['saturated_reason']}; this level measures the load generator")
    f = s["failures"]
    if f["failed"]:
        out.append(f"{f['failed']} of {s['requests']['sent']} requests failed: {json.dumps(f['errors'])}")
    if f["length_mismatch"]:
        out.append(f"{f['length_mismatch']} requests did not get the output length asked "
                   f"({f['length_mismatch_example']}): the engine ignores the requested length")
    if s["interrupted"]:
        out.append("interrupted (Ctrl-C): requests cut short are counted as failures")
    return out


def _plan_key(ctx: SweepContext, level: dict[str, Any]) -> str:
    raw = json.dumps([ctx.model, ctx.target, ctx.workload, ctx.load, level], sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _fill_energy(r: RunRecord, e: dict[str, Any] | None, s: dict[str, Any]) -> None:
    if not e:
        return
    r.duration_s = e["duration_s"]
    r.energy_j = e["total_j"]
    r.energy_uncertainty_j = e["uncertainty_j"]
    r.gpu_energy_j = e["by_kind_j"].get("gpu", 0.0)
    r.cpu_energy_j = e["by_kind_j"].get("cpu", 0.0)
    r.ram_energy_j = e["by_kind_j"].get("ram", 0.0)
    r.idle_power_w = e["idle_w"]
    r.components = e["components"]
    per = s["per"]
    if per["j_per_request"] is not None:
        r.wh_per_1000 = per["j_per_request"] * 1000 / J_PER_WH
        gpu_share = r.gpu_energy_j / r.energy_j if r.energy_j else 0.0
        r.gpu_wh_per_1000 = r.wh_per_1000 * gpu_share
    if per["j_per_output_token"] is not None:
        r.wh_per_token = per["j_per_output_token"] / J_PER_WH


def to_record(ctx: SweepContext, s: dict[str, Any], index: int, started_at: float) -> RunRecord:
    lvl = s["level"]
    r = RunRecord(task=TASK, model=ctx.model, preset=PRESET, repeat=index, origin=PRESET,
                  plan_key=_plan_key(ctx, lvl), status="aborted" if s["interrupted"] else "finished",
                  started_at=started_at, finished_at=time.time(), model_kind="general-purpose",
                  model_source=ctx.target.get("launch") or ctx.target.get("url", ""), weights=ctx.weights,
                  dataset=ctx.workload.get("name", ""), workload_description=ctx.workload.get("description", ""),
                  workload="file" if str(ctx.workload.get("name", "")).startswith("file:") else "synthetic",
                  samples=s["requests"]["sent"], batch_size=int(lvl["value"]) if lvl["mode"] == "concurrency" else 0,
                  dtype=ctx.dtype, device=ctx.device, inferences=round(s["requests"]["in_window"]),
                  generated_tokens=round(s["tokens"]["output"]), input_tokens=round(s["tokens"]["input"]),
                  latency_p50_s=s["latency"]["e2e_s"]["p50"], latency_p95_s=s["latency"]["e2e_s"]["p95"],
                  throughput=s["throughput"]["requests_per_s"], environment=ctx.environment,
                  gpu_uuids=list(ctx.gpu_uuids), node=ctx.environment.get("host"),
                  settings={"level": lvl, "target": ctx.target, "workload": ctx.workload, "load": ctx.load,
                            "meter": ctx.meter},
                  warnings=[*ctx.warnings, *_warnings(s)])
    if s["interrupted"]:
        r.error = "interrupted (Ctrl-C)"
    _fill_energy(r, s["energy"], s)
    r.serving = s
    return r
