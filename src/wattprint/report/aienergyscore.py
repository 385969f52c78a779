"""AI Energy Score submission files from ``aienergyscore`` runs, to preview a leaderboard score on your own card.

For each job (task, model, dataset) of the store's ``aienergyscore`` runs, in ``DIR/<task>/<model>/``:

- ``benchmark_report.json``: optimum-benchmark's energy_star report, as AIEnergyScore's container writes it
  (huggingface/optimum-benchmark, branch energy_star_dev, ``BenchmarkReport``): one member per phase
  ("preprocess", then "forward", or "prefill" / "decode" / "per_token", or "call"), each with ``memory``,
  ``latency``, ``throughput``, ``energy`` (``unit`` "kWh", ``cpu``, ``ram``, ``gpu``, ``total``: the mean over
  repeats), ``efficiency`` (``unit``, ``value``) and ``measures`` (one energy per repeat);
- ``GPU_ENERGY_WH.txt`` and ``GPU_ENERGY_SUMMARY.json``: what AIEnergyScore's ``summarize_gpu_wh.py`` derives
  from that report (the GPU energy of every phase that has one, summed, in Wh rounded to 2 decimals);
- ``wattprint_provenance.json``: where the figures come from and whether they can stand beside the
  leaderboard's (an H100, 1,000 inputs, pretrained weights, the protocol's dataset).

and ``DIR/master_results.csv``: one row per job in the columns of AIEnergyScore's ``results_aggregator.py``.
Energies in the files are those of the run's own inputs (its ``samples``); ``wh_per_1000_queries`` and the
provenance file normalise to 1,000.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from statistics import fmean
from typing import Any

from wattprint.bench.arrow_inputs import ARROW_NOTE
from wattprint.core.units import J_PER_WH
from wattprint.store.record import RunRecord

J_PER_KWH = J_PER_WH * 1000.0
KINDS = ("cpu", "ram", "gpu")
# AIEnergyScore results_aggregator.py, ResultsAggregator.COLUMNS (github.com/huggingface/AIEnergyScore)
CSV_COLUMNS = (
    "model_name", "model_class", "task", "reasoning_state", "total_prompts", "successful_prompts",
    "failed_prompts", "total_duration_seconds", "avg_total_time", "avg_time_to_first_token", "total_tokens",
    "total_prompt_tokens", "total_completion_tokens", "throughput_tokens_per_second", "gpu_energy_wh",
    "wh_per_1000_queries", "co2_emissions_g", "tokens_per_joule", "avg_energy_per_prompt_wh", "timestamp",
    "error_message",
)
# AIEnergyScore's task names (oct_2025_models.csv: text_gen, image_gen); the others as optimum-benchmark names them
TASK_NAMES = {"text-generation": "text_gen", "image-generation": "image_gen", "image-captioning": "image_to_text",
              "automatic-speech-recognition": "asr"}
# text-generation model classes (AIEnergyScore documentation, Table 2): largest size in billions of parameters
MODEL_CLASSES = (("A", 20e9), ("B", 66e9))


@dataclass
class Job:
    """The finished repeats of one model on one task and dataset."""

    runs: list[RunRecord]

    @property
    def first(self) -> RunRecord:
        return self.runs[0]

    @property
    def generative(self) -> bool:
        return "prefill" in self.first.phases

    def label(self) -> str:
        r = self.first
        return f"{r.task} / {r.model} / {r.dataset}"


def is_aienergyscore(r: RunRecord) -> bool:
    """A finished run measured as the protocol asks: GPU score, preprocessing in its own phase."""
    s = r.settings or {}
    return r.status == "finished" and s.get("score") == "gpu" and s.get("preprocess") in ("phase", "arrow")


def jobs(records: Sequence[RunRecord]) -> list[Job]:
    groups: dict[tuple[str, str, str, str], list[RunRecord]] = {}
    for r in records:
        if is_aienergyscore(r):
            groups.setdefault((r.task, r.model, r.dataset, r.preset), []).append(r)
    return [Job(sorted(g, key=lambda r: r.repeat)) for _, g in sorted(groups.items())]


def _kwh(joules: dict[str, float]) -> dict[str, Any]:
    """optimum-benchmark's Energy: unit, cpu, ram, gpu, total (kWh)."""
    out: dict[str, Any] = {"unit": "kWh"}
    out.update({k: joules.get(k, 0.0) / J_PER_KWH for k in KINDS})
    out["total"] = sum(joules.get(k, 0.0) for k in KINDS) / J_PER_KWH
    return out


def _target(per_repeat: list[dict[str, float]], volume: float, unit: str, measures: bool = True) -> dict[str, Any]:
    mean = {k: fmean(m.get(k, 0.0) for m in per_repeat) for k in KINDS}
    energy = _kwh(mean)
    value = volume / energy["total"] if energy["total"] > 0 else 0
    return {"memory": None, "latency": None, "throughput": None, "energy": energy,
            "efficiency": {"unit": unit, "value": value},
            "measures": [_kwh(m) for m in per_repeat] if measures else None}


def _window(r: RunRecord) -> dict[str, float]:
    return {"gpu": r.gpu_energy_j, "cpu": r.cpu_energy_j, "ram": r.ram_energy_j}


def _preprocess(r: RunRecord) -> dict[str, float]:
    return {"gpu": r.preprocess_gpu_energy_j or 0.0, "cpu": r.preprocess_cpu_energy_j or 0.0,
            "ram": r.preprocess_ram_energy_j or 0.0}


def _split(r: RunRecord) -> tuple[dict[str, float], dict[str, float]]:
    """(prefill, decode) of one repeat: the prefill phase, and the rest of the window as decode, so that the two
    add up to the inference window (optimum-benchmark's decode is likewise generate minus prefill)."""
    window = _window(r)
    prefill = {k: r.phase_energy_by_kind.get("prefill", {}).get(k, 0.0) for k in KINDS}
    return prefill, {k: window[k] - prefill[k] for k in KINDS}


def benchmark_report(job: Job) -> dict[str, Any]:
    """The energy_star ``benchmark_report.json`` of one job."""
    runs, first = job.runs, job.first
    n = first.inferences
    report: dict[str, Any] = {"preprocess": _target([_preprocess(first)], n, "samples/kWh", measures=False)}
    if job.generative:
        pairs = [_split(r) for r in runs]
        prompt_tokens = first.input_tokens or n
        decoded = max(0, (first.generated_tokens or 0) - n)  # the first token of each comes out of prefill
        report["prefill"] = _target([p for p, _ in pairs], prompt_tokens, "tokens/kWh")
        report["decode"] = _target([d for _, d in pairs], decoded, "tokens/kWh")
        report["per_token"] = {"memory": None, "latency": None, "throughput": None, "energy": None,
                               "efficiency": None, "measures": None}
    elif first.images:
        report["call"] = _target([_window(r) for r in runs], first.images, "images/kWh")
    else:
        report["forward"] = _target([_window(r) for r in runs], n, "samples/kWh")
    return report


def gpu_energy_summary(report: dict[str, Any]) -> dict[str, Any]:
    """What summarize_gpu_wh.py writes: every top-level phase with a positive GPU energy, in Wh, and their sum
    (rounded to 2 decimals, as it does)."""
    phases = {}
    for name, node in report.items():
        energy = (node or {}).get("energy") or {}
        wh = float(energy.get("gpu") or 0.0) * 1000.0
        if wh > 0:
            phases[name] = wh
    summary: dict[str, Any] = {"units": "Wh", "total": round(sum(phases.values()) + 1e-12, 2)}
    summary.update({f"{k}_wh": round(v, 2) for k, v in sorted(phases.items())})
    return summary


def score_j(r: RunRecord) -> float:
    """GPU energy of one repeat as the protocol sums it: preprocess + inference window."""
    return (r.preprocess_gpu_energy_j or 0.0) + r.gpu_energy_j


def hub_id(name: str) -> str:
    """The model's hub id, as the leaderboard names models (a catalog name is mapped; anything else kept)."""
    from wattprint.core.errors import WattprintError
    from wattprint.models.catalog import get_entry

    try:
        entry = get_entry(name)
    except WattprintError:
        return name
    return entry.hub_id or name


def model_class(r: RunRecord) -> str:
    if r.task != "text-generation" or not r.parameters:
        return ""
    return next((c for c, limit in MODEL_CLASSES if r.parameters <= limit), "C")


def csv_row(job: Job) -> dict[str, Any]:
    """One row of master_results.csv (means over the job's repeats)."""
    runs, r = job.runs, job.first
    n = r.inferences
    gpu_wh = fmean(score_j(x) for x in runs) / J_PER_WH
    duration = fmean(x.duration_s for x in runs)
    prompt, completion = r.input_tokens or 0, r.generated_tokens or 0
    prefill_s = fmean(x.phase_durations.get("prefill", 0.0) for x in runs)
    gco2 = [x.gco2e for x in runs if x.gco2e is not None]
    return {
        "model_name": hub_id(r.model), "model_class": model_class(r),
        "task": TASK_NAMES.get(r.task, r.task.replace("-", "_")),
        "reasoning_state": "", "total_prompts": r.samples, "successful_prompts": n, "failed_prompts": 0,
        "total_duration_seconds": f"{duration:.2f}", "avg_total_time": f"{duration / n:.4f}" if n else "0.0000",
        "avg_time_to_first_token": f"{prefill_s / n:.4f}" if n else "0.0000",
        "total_tokens": prompt + completion, "total_prompt_tokens": prompt, "total_completion_tokens": completion,
        "throughput_tokens_per_second": f"{(prompt + completion) / duration:.2f}" if duration else "0.00",
        "gpu_energy_wh": f"{gpu_wh:.4f}", "wh_per_1000_queries": f"{gpu_wh / n * 1000:.4f}" if n else "0.0000",
        "co2_emissions_g": f"{fmean(gco2):.4f}" if gco2 else "0.0000",
        "tokens_per_joule": f"{(prompt + completion) / (gpu_wh * J_PER_WH):.4f}" if gpu_wh else "0.0000",
        "avg_energy_per_prompt_wh": f"{gpu_wh / n:.4f}" if n else "0.0000",
        "timestamp": datetime.fromtimestamp(max(x.finished_at or x.started_at for x in runs), timezone.utc).isoformat(),
        "error_message": "",
    }


def provenance(job: Job) -> dict[str, Any]:
    """Where the job's figures come from, and what keeps them from standing beside the leaderboard's."""
    runs, r = job.runs, job.first
    gpus = [d for d in (r.environment or {}).get("gpus", []) if isinstance(d, dict)]
    names = sorted({str(d.get("name", "")) for d in gpus} - {""})
    methods = sorted({c.get("method", "") for x in runs for c in x.components if c.get("kind") == "gpu"})
    caveats = []
    if not any("H100" in n for n in names):
        caveats.append(f"measured on {', '.join(names) or 'no named GPU'}, the leaderboard on an NVIDIA H100 80GB")
    if r.samples != 1000 or len(runs) < 10:
        caveats.append(f"{r.samples} inputs x {len(runs)} repeats, the protocol 1,000 x 10")
    if r.weights != "pretrained":
        caveats.append(f"{r.weights} weights")
    if r.workload != "dataset":
        caveats.append(f"{r.workload} inputs ({r.workload_description})")
    if (r.settings or {}).get("preprocess") == "phase":
        caveats.append("inputs kept in memory: the protocol reads each from its Arrow cache inside the window "
                       "(preprocess = \"arrow\")")
    caveats += [w for w in r.warnings if w.startswith(("settings shrunk", "preprocess:")) and w != ARROW_NOTE]
    return {
        "task": r.task, "model": r.model, "dataset": r.dataset, "preset": r.preset, "repeats": len(runs),
        "samples": r.samples, "dtype": r.dtype, "gpus": names, "gpu_energy_methods": methods,
        "score_wh_per_1000": fmean(score_j(x) for x in runs) / J_PER_WH / r.inferences * 1000 if r.inferences else None,
        "score_basis": r.score_basis, "comparable_with_leaderboard": not caveats, "caveats": caveats,
        "run_ids": [x.run_id for x in runs],
    }


def to_csv(records: Sequence[RunRecord]) -> str:
    """master_results.csv for every aienergyscore job of ``records``; raises when there is none."""
    found = _require(records)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(CSV_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for job in found:
        writer.writerow(csv_row(job))
    return buf.getvalue()


def _require(records: Sequence[RunRecord]) -> list[Job]:
    from wattprint.core.errors import ConfigError

    found = jobs(records)
    if not found:
        raise ConfigError("the store holds no finished aienergyscore run (GPU score, preprocess phase)",
                          "run e.g. `wattprint bench --preset aienergyscore --task text-classification "
                          "--model distilbert-sst2 --device cuda` first")
    return found


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text).strip("_") or "model"


def write_submission(records: Sequence[RunRecord], directory: Path) -> list[Path]:
    """Write the submission files of every aienergyscore job into ``directory``; returns the paths written.

    Raises ConfigError before writing anything when the store holds no such run.
    """
    found = _require(records)
    written: list[Path] = []
    for job in found:
        r = job.first
        folder = directory / _slug(r.task) / _slug(r.model) / _slug(r.dataset or "default")
        folder.mkdir(parents=True, exist_ok=True)
        report = benchmark_report(job)
        summary = gpu_energy_summary(report)
        files = {"benchmark_report.json": json.dumps(report, indent=4),
                 "GPU_ENERGY_SUMMARY.json": json.dumps(summary, indent=2),
                 "GPU_ENERGY_WH.txt": f"{summary['total']:.2f}\n",
                 "wattprint_provenance.json": json.dumps(provenance(job), indent=2)}
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
            written.append(folder / name)
    table = directory / "master_results.csv"
    table.write_text(to_csv(records), encoding="utf-8")
    return [*written, table]
