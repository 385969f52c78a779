"""From what a repeat measured to the figures of its record: energies per component, per 1,000
inferences, per token and per image, latency, throughput, FLOPs, harness overhead, and carbon.

Nothing here measures; everything here is arithmetic on a Measurement and counted work, so it is
tested with exact numbers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from wattprint.bench.stats import percentile
from wattprint.core.units import J_PER_WH
from wattprint.store.record import RunRecord


@dataclass
class RepeatWork:
    """What the batches of one repeat did, counted outside the meter."""

    units: dict[str, int] = field(default_factory=dict)
    latencies_s: list[float] = field(default_factory=list)
    inside_s: float = 0.0  # seconds inside task.run_batch, minus the meter's phase-edge calls
    flops: float | None = 0.0  # None as soon as one batch did not know its FLOPs
    outputs: list[Any] = field(default_factory=list)
    flops_method: str | None = None

    def add(self, units: dict[str, int], seconds: float, flops: float | None, outputs: Sequence[Any],
            flops_method: str | None = None) -> None:
        for k, v in units.items():
            self.units[k] = self.units.get(k, 0) + int(v)
        self.latencies_s.append(seconds)
        self.inside_s += seconds
        self.flops = None if (flops is None or self.flops is None) else self.flops + flops
        self.outputs.extend(outputs)
        self.flops_method = self.flops_method or flops_method


def per_1000(energy_j: float, count: int | None) -> float | None:
    """Wh per 1,000 units, or None without units."""
    return energy_j / J_PER_WH / count * 1000.0 if count else None


def per_unit_wh(energy_j: float, count: int | None) -> float | None:
    return energy_j / J_PER_WH / count if count else None


def fill_energy(record: RunRecord, m: Any) -> None:
    """Energy per component and in total from the repeat's Measurement ``m``."""
    record.duration_s = m.duration_s
    record.energy_j = m.total_energy_j
    record.energy_uncertainty_j = m.total_uncertainty_j
    record.gpu_energy_j = m.energy_j("gpu")
    record.cpu_energy_j = m.energy_j("cpu")
    record.ram_energy_j = m.energy_j("ram") + m.energy_j("dram")
    record.components = [c.to_dict() for c in m.components]
    record.idle_power_w = m.idle_power_w
    record.gpu_uuids = [c.uuid for c in m.components if str(c.kind) == "gpu" and c.uuid]
    record.warnings.extend(w for w in m.warnings if w not in record.warnings)


def fill_work(record: RunRecord, work: RepeatWork, edge_s: float) -> None:
    """Counts, per-unit energies, latency, throughput, FLOPs and harness overhead."""
    inferences = work.units.get("inferences", 0)
    record.inferences = inferences
    record.generated_tokens = work.units.get("generated_tokens")
    record.input_tokens = work.units.get("input_tokens")
    record.images = work.units.get("images")
    record.wh_per_1000 = per_1000(record.energy_j, inferences)
    has_gpu = any(c["kind"] == "gpu" for c in record.components)
    record.gpu_wh_per_1000 = per_1000(record.gpu_energy_j, inferences) if has_gpu else None
    record.wh_per_token = per_unit_wh(record.energy_j, record.generated_tokens)
    record.wh_per_image = per_unit_wh(record.energy_j, record.images)
    if work.latencies_s:
        record.latency_p50_s = percentile(work.latencies_s, 50)
        record.latency_p95_s = percentile(work.latencies_s, 95)
    record.throughput = inferences / record.duration_s if record.duration_s > 0 else None
    if work.flops is not None and inferences:
        record.flops_per_inference = work.flops / inferences
    record.harness_overhead = harness_overhead(record.duration_s, work.inside_s - edge_s)


def fill_score(record: RunRecord, score: str) -> None:
    """The preset's score per 1,000 inferences: its component (``score``: "gpu" or "total") of the inference
    window, plus the preprocess window's when the job measured one (the AI Energy Score protocol sums
    preprocess, prefill and decode, or preprocess and forward). Leaves it None for a GPU score with no GPU
    measured. ``score_basis`` names the component and the phases summed."""
    has_gpu = any(c["kind"] == "gpu" for c in record.components)
    if score == "gpu" and not has_gpu:
        record.score_wh_per_1000, record.score_basis = None, "GPU energy: no GPU measured"
        return
    window = record.gpu_energy_j if score == "gpu" else record.energy_j
    pre = record.preprocess_gpu_energy_j if score == "gpu" else record.preprocess_energy_j
    inside = " + ".join(record.phases) or "inference"
    parts = [f"inference window ({inside})"]
    energy = window
    if pre is not None:
        energy += pre
        parts.insert(0, "preprocess")
    label = "GPU energy" if score == "gpu" else "GPU + CPU + RAM energy"
    record.score_wh_per_1000 = per_1000(energy, record.inferences)
    record.score_basis = f"{label} of {' + '.join(parts)}, per 1,000 inferences"


def harness_overhead(window_s: float, model_s: float) -> float | None:
    """Share of the measured window not spent inside the model call (0..1)."""
    if window_s <= 0:
        return None
    return min(1.0, max(0.0, 1.0 - model_s / window_s))


def _as_dict(obj: Any) -> dict[str, Any]:
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    return dict(vars(obj))


def fill_carbon(record: RunRecord, location: Any, carbon: Any, live: Any = None) -> None:
    """Emissions of the repeat's energy at ``location`` and equivalents per 1,000 inferences.

    ``carbon`` is the :mod:`wattprint.carbon` module, or None when it is not available, in which case
    the carbon fields stay None and a warning says why.
    """
    if carbon is None or location is None:
        record.warnings.append("carbon: not computed (wattprint.carbon is not available)")
        return
    em = carbon.emissions_for(record.energy_j, location, start=record.started_at, end=record.finished_at, live=live)
    record.gco2e = em.gco2e
    record.emissions = _as_dict(em)
    if record.inferences:
        record.gco2e_per_1000 = em.gco2e / record.inferences * 1000.0
        # the facility energy (PUE included) when carbon accounting reports it, as its emissions do
        energy_j = getattr(em, "facility_energy_j", None) or record.energy_j
        energy_1000_j = energy_j / record.inferences * 1000.0
        eqs = carbon.equivalents(energy_j=energy_1000_j, gco2e=record.gco2e_per_1000)
        record.equivalents_per_1000 = [_as_dict(e) for e in eqs]
