"""A Measurement in a notebook: a short text repr, an HTML table, and a DataFrame with one row per component."""

from __future__ import annotations

from typing import Any

from wattprint.core.notebook import esc, notes, require_pandas, table
from wattprint.core.units import format_energy

NO_EMISSIONS = ("emissions: none (no place set: measure(country=\"FR\"), WATTPRINT_COUNTRY, or [carbon] in "
                "wattprint.toml)")
COLUMNS = ("measurement", "started_at", "duration_s", "component", "kind", "index", "uuid", "energy_j",
           "uncertainty_j", "method", "source", "scope", "detail", "samples", "idle_power_w")


def short_repr(m: Any) -> str:
    parts = ", ".join(f"{c.key} {format_energy(c.energy_j)} {c.method.value}" for c in m.components)
    e = m.emissions
    gco2e = e.get("gco2e") if isinstance(e, dict) else getattr(e, "gco2e", None)  # a dict when read from JSON
    carbon = f", {gco2e:.4g} gCO2e" if isinstance(gco2e, (int, float)) else ""
    return (f"<Measurement {m.name!r}: {format_energy(m.total_energy_j)} ± {format_energy(m.total_uncertainty_j)}"
            f" over {m.duration_s:.3f} s{carbon} [{parts or 'no components'}]>")


def _emissions_html(e: Any) -> str:
    if e is None:
        return f"<p>{esc(NO_EMISSIONS)}</p>"
    if isinstance(e, dict):  # read back from JSON
        i = e.get("intensity", {})
        rows = [(e.get("gco2e"), i.get("g_per_kwh"), i.get("zone"), i.get("year"), i.get("source"), i.get("scope"),
                 e.get("pue"), e.get("method"))]
    else:
        rows = [(e.gco2e, e.intensity_g_per_kwh, e.zone, e.year, e.source, e.scope, e.pue, e.method)]
    return table(("gCO2e", "g/kWh", "zone", "year", "source", "scope", "PUE", "method"), rows, "emissions")


def html_repr(m: Any) -> str:
    rows = [(c.key, c.name, c.energy_j, c.uncertainty_j, c.method.value, c.source, c.detail) for c in m.components]
    rows.append(("total", "", m.total_energy_j, m.total_uncertainty_j, "", "", ""))
    head = (f"<strong>{esc(m.name)}</strong>: {esc(format_energy(m.total_energy_j))} ± "
            f"{esc(format_energy(m.total_uncertainty_j))} over {esc(round(m.duration_s, 3))} s")
    if m.energy_above_idle_j is not None:
        head += (f"; above idle {esc(format_energy(m.energy_above_idle_j))} (idle {esc(m.idle_power_w)} W over "
                 f"{esc(round(m.idle_seconds, 3))} s)")
    energy = table(("component", "name", "energy (J)", "± (J)", "method", "source", "detail"), rows)
    return f"<div>{head}{energy}{_emissions_html(m.emissions)}{notes(m.warnings)}</div>"


def to_dataframe(m: Any) -> Any:
    """One row per component; the whole measurement (totals, emissions, warnings) in ``df.attrs``."""
    pd = require_pandas("Measurement.to_dataframe()")
    rows = [(m.name, m.started_at, m.duration_s, c.key, c.kind.value, c.index, c.uuid, c.energy_j, c.uncertainty_j,
             c.method.value, c.source, c.scope, c.detail, c.samples, c.idle_power_w) for c in m.components]
    df = pd.DataFrame(rows, columns=list(COLUMNS))
    d = m.to_dict()
    df.attrs.update({k: d[k] for k in ("name", "total_energy_j", "total_uncertainty_j", "energy_above_idle_j",
                                       "warnings")})
    df.attrs["emissions"] = d.get("emissions")
    return df
