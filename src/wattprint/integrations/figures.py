"""A measurement or a stored run as flat figures a tracker can log: numbers as metrics, words as tags.

Metric names are ``{prefix}/{window}/{figure}``: the window's name keeps a training interval and an evaluation
apart in one run. Every energy figure comes with its uncertainty; each component's method (counter, sampled,
estimated) and source go into the tags, since trackers take only numbers as metrics.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from wattprint.meter.result import ComponentEnergy, Measurement, Method

_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]+")
# the least precise method wins when windows are added up (docs/meter.md: counter < sampled < estimated)
_RANK = {Method.COUNTER: 0, Method.SAMPLED: 1, Method.ESTIMATED: 2}


def safe(name: str) -> str:
    """A name every tracker accepts as part of a metric key: ``gpu:GPU-1a2b`` -> ``gpu_GPU-1a2b``."""
    return _UNSAFE.sub("_", name).strip("_") or "window"


def _emission_figures(emissions: Any) -> dict[str, float]:
    if emissions is None:
        return {}
    d = emissions.to_dict() if hasattr(emissions, "to_dict") else dict(emissions)
    out = {"gco2e": float(d["gco2e"]), "pue": float(d["pue"])}
    intensity = d.get("intensity") or {}
    if isinstance(intensity, Mapping) and intensity.get("g_per_kwh") is not None:
        out["intensity_g_per_kwh"] = float(intensity["g_per_kwh"])
    return out


def _emission_tags(emissions: Any) -> dict[str, str]:
    if emissions is None:
        return {}
    d = emissions.to_dict() if hasattr(emissions, "to_dict") else dict(emissions)
    i = d.get("intensity") or {}
    return {"emissions": f"zone={i.get('zone')}, year={i.get('year')}, source={i.get('source')}, "
                         f"scope={i.get('scope')}, method={d.get('method')}, pue={d.get('pue')} "
                         f"({d.get('pue_source')})"}


def _component_figures(components: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for c in components:
        key = safe(_key(c))
        out[f"{key}_j"] = float(c["energy_j"])
        out[f"{key}_uncertainty_j"] = float(c["uncertainty_j"])
    for kind in dict.fromkeys(str(c["kind"]) for c in components):
        out[f"{kind}_j"] = sum(float(c["energy_j"]) for c in components if str(c["kind"]) == kind)
    return out


def _key(c: Mapping[str, Any]) -> str:
    return str(ComponentEnergy.from_dict(dict(c)).key)


def measurement_figures(m: Measurement, prefix: str = "energy") -> dict[str, float]:
    """Metrics of one window: total, uncertainty, duration, each kind and component, emissions if present."""
    figures = {"total_j": m.total_energy_j, "uncertainty_j": m.total_uncertainty_j, "duration_s": m.duration_s}
    figures.update(_component_figures([c.to_dict() for c in m.components]))
    if m.energy_above_idle_j is not None:
        figures["above_idle_j"] = m.energy_above_idle_j
    figures.update(_emission_figures(m.emissions))
    return {f"{prefix}/{safe(m.name)}/{k}": float(v) for k, v in figures.items()}


def measurement_tags(m: Measurement, prefix: str = "energy") -> dict[str, str]:
    """Words of one window: each component's method and source, and the emissions' provenance."""
    base = f"{prefix}/{safe(m.name)}"
    tags = {f"{base}/method/{safe(c.key)}": f"{c.method.value} ({c.source})" for c in m.components}
    tags.update({f"{base}/{k}": v for k, v in _emission_tags(m.emissions).items()})
    return tags


_RECORD_FIGURES = ("energy_j", "energy_uncertainty_j", "duration_s", "wh_per_1000", "gpu_wh_per_1000",
                   "score_wh_per_1000", "wh_per_token", "inferences", "throughput", "gco2e", "gco2e_per_1000",
                   "load_energy_j", "idle_power_w")
_RECORD_PARAMS = ("run_id", "task", "model", "preset", "repeat", "weights", "workload", "dataset", "device",
                  "dtype", "batch_size", "samples", "origin")


def record_figures(record: Any, prefix: str = "energy") -> dict[str, float]:
    """Metrics of one stored run (a ``RunRecord``): its energy, per-1,000 figures, phases and components."""
    out: dict[str, float] = {}
    for name in _RECORD_FIGURES:
        value = getattr(record, name, None)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[name] = float(value)
    out.update(_component_figures(record.components))
    out.update({f"phase_{safe(p)}_j": float(j) for p, j in record.phases.items()})
    return {f"{prefix}/{k}": v for k, v in out.items()}


def record_params(record: Any) -> dict[str, str]:
    """What the stored run was: task, model, preset and its settings, and what was synthetic or random."""
    params = {name: str(getattr(record, name)) for name in _RECORD_PARAMS}
    for c in record.components:
        params[f"method/{safe(_key(c))}"] = f"{c['method']} ({c.get('source', '')})"
    params.update(_emission_tags(record.emissions))
    return params


def combine(measurements: Iterable[Measurement], name: str) -> Measurement:
    """Windows added up as one (a logging interval split by an evaluation): energies, uncertainties and
    durations summed per component; a component measured by several methods keeps the least precise one."""
    ms = list(measurements)
    if not ms:
        raise ValueError("combine() needs at least one measurement")
    parts: dict[str, ComponentEnergy] = {}
    for m in ms:
        for c in m.components:
            had = parts.get(c.key)
            if had is None:
                parts[c.key] = c
                continue
            method = max(had.method, c.method, key=_RANK.__getitem__)
            parts[c.key] = replace(had, energy_j=had.energy_j + c.energy_j, method=method,
                                   uncertainty_j=had.uncertainty_j + c.uncertainty_j,
                                   samples=None if had.samples is None or c.samples is None
                                   else had.samples + c.samples)
    warnings = tuple(dict.fromkeys(w for m in ms for w in m.warnings))
    return Measurement(name=name, started_at=ms[0].started_at, duration_s=sum(m.duration_s for m in ms),
                       components=tuple(parts.values()), idle_seconds=ms[0].idle_seconds, warnings=warnings)
