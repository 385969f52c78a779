"""The Markdown of a model card's "Energy" section: per task and preset, Wh per 1,000 inferences with their
spread and the meter's uncertainty, the hardware, how each component was measured, and where the figures
came from (store, runs, dates, random weights or synthetic inputs)."""

from __future__ import annotations

import shlex
import statistics
from collections import Counter
from collections.abc import Sequence
from typing import Any

from wattprint.core.units import J_PER_KWH, J_PER_WH
from wattprint.report import card_edit
from wattprint.store.record import RunRecord

HEADER = ("| Task | Preset | Dataset | Wh per 1,000 inferences | Meter uncertainty | Runs x inputs | Hardware "
          "| Measured as | Weights, inputs | gCO2e per 1,000 |")


def _g(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3g}"


def methods_of_components(components: Sequence[dict[str, Any]]) -> str:
    """"gpu counter, cpu estimated, ram estimated": how each kind of component was measured."""
    seen: dict[str, str] = {}
    for c in components:
        seen.setdefault(str(c.get("kind", "?")), str(c.get("method", "?")))
    return ", ".join(f"{k} {m}" for k, m in seen.items()) or "no component recorded"


def hardware_of_components(components: Sequence[dict[str, Any]]) -> str:
    """"2 x NVIDIA H100 80GB HBM3, AMD EPYC 7R13": the GPUs (counted by name) and CPUs the meter read."""
    parts = []
    for kind in ("gpu", "cpu"):
        names = Counter(str(c.get("name") or kind.upper()) for c in components if c.get("kind") == kind)
        parts += [f"{n} x {name}" if n > 1 else name for name, n in names.items()]
    return ", ".join(parts) or "not recorded"


def _row(row: Any, runs: list[RunRecord]) -> str:
    e = row.energy  # kWh per 1,000 inferences
    mean = e.mean * 1000.0
    spread = f" ± {_g(e.ci_half_width * 1000.0)} (95 % CI)" if e.ci_half_width is not None else " (one run)"
    meter = statistics.fmean(r.energy_uncertainty_j / r.inferences * 1000.0 / J_PER_WH for r in runs)
    preset = row.preset + (f" (shrunk: {row.shrunk})" if row.shrunk else "")
    made = f"{row.weights or '?'} weights, {row.workload or '?'} inputs"
    carbon = f"{_g(row.gco2e_per_1000)} ({row.carbon_source})" if row.gco2e_per_1000 is not None else "n/a"
    cells = (row.task, preset, row.dataset or "-", f"{_g(mean)}{spread}", f"± {_g(meter)} Wh",
             f"{row.runs} x {row.inferences}", row.hardware, row.methods, made, carbon)
    return "| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |"


def store_lines(runs: list[RunRecord], store: str) -> list[str]:
    """The inference table of the store's runs, and what the figures are."""
    from wattprint.report.aggregate import aggregate, record_key

    rows = aggregate(runs).rows
    by_key: dict[tuple, list[RunRecord]] = {}
    for r in runs:
        by_key.setdefault(record_key(r), []).append(r)
    lines = [HEADER, "|" + "---|" * HEADER.count(" | ") + "---|"]
    lines += [_row(row, by_key[row.key()]) for row in rows]
    dates = sorted(r.finished_at or r.started_at for r in runs)
    import datetime as dt

    first, last = (dt.datetime.fromtimestamp(t, dt.timezone.utc).date().isoformat() for t in (dates[0], dates[-1]))
    lines += [
        "",
        "Energy is that of the inference windows (GPU + CPU + RAM; loading the model and warm-up are apart), the "
        "mean over repeats with the half-width of its 95 % t interval; the meter uncertainty is the mean of the "
        "uncertainty each run states. `counter` figures are read from a hardware energy counter, `sampled` ones "
        "integrated from power samples, `estimated` ones modelled (the model is named in the store's records).",
    ]
    if any(r.weights != "pretrained" or r.workload != "dataset" for r in runs):
        lines += ["", "Rows with random weights or synthetic inputs measure the architecture on stand-in inputs "
                      "of the dataset's statistics, not the trained model on the dataset itself."]
    lines += ["", f"Source: {len(runs)} run(s) in {store}, {first} to {last}; run ids "
                  f"{', '.join(sorted(r.run_id[:8] for r in runs)[:10])}{' ...' if len(runs) > 10 else ''}."]
    return lines


def measurement_lines(m: dict[str, Any], training_type: str | None, inferences: int | None,
                      co2_written: bool) -> list[str]:
    """The measurement: total energy and its uncertainty, per 1,000 inferences or as training."""
    total, unc = float(m["total_energy_j"]), float(m.get("total_uncertainty_j") or 0.0)
    comps = m.get("components") or []
    what = f"`{shlex.join(m['command'])}`" if isinstance(m.get("command"), list) else "a measured window"
    how = f"{methods_of_components(comps)}; on {hardware_of_components(comps)}; {float(m.get('duration_s') or 0):.4g} s"
    if inferences:
        per = total / inferences * 1000.0 / J_PER_WH
        return [f"Measured: {what}, {inferences} inferences: **{per:.3g} Wh per 1,000 inferences** "
                f"± {unc / inferences * 1000.0 / J_PER_WH:.3g} Wh ({how})."]
    em = m.get("emissions") or {}
    line = (f"Training ({training_type}): {what}, **{total / J_PER_KWH:.4g} kWh** ± {unc / J_PER_KWH:.2g} kWh "
            f"({how})")
    if em.get("gco2e") is not None:
        line += f", {float(em['gco2e']):.4g} gCO2e"
    lines = [line + "."]
    if co2_written:
        lines.append("This training measurement is the card's `co2_eq_emissions` metadata.")
    return lines


def energy_section(runs: list[RunRecord], store: str, m: dict[str, Any] | None, training_type: str | None,
                   inferences: int | None, co2_written: bool) -> str:
    """The whole section, markers included."""
    from wattprint._version import __version__

    lines = [card_edit.START, "## Energy", "",
             f"Measured with wattprint {__version__}. Figures are energy at the hardware; the grid intensity "
             "and PUE behind any gCO2e are named beside it.", ""]
    if runs:
        lines += store_lines(runs, store) + [""]
    if m is not None:
        lines += measurement_lines(m, training_type, inferences, co2_written) + [""]
    lines += ["The Hub's `co2_eq_emissions` metadata is for training emissions (pre-training or fine-tuning), so "
              "inference figures are given here and not there.", card_edit.END]
    return "\n".join(lines)
