"""CodeCarbon interoperability: its ``emissions.csv`` column layouts, and our runs written in its columns.

Column layouts, read from ``mlco2/codecarbon``'s ``EmissionsData`` / ``TaskEmissionsData`` dataclasses at
each release tag (``codecarbon/output.py`` up to 2.4, ``codecarbon/output_methods/emissions_data.py``
after): units are CodeCarbon's own: ``duration`` s, ``emissions`` kg CO2eq, ``*_power`` W, ``*_energy`` and
``energy_consumed`` kWh, ``ram_total_size`` GB. Task files (``emissions_<experiment>_<run_id>.csv``, one row
per ``tracker.start_task()``) drop all-empty columns, so a reader must accept subsets of a layout.

Reading those files into the store is :mod:`wattprint.store.codecarbon_import`.
"""

from __future__ import annotations

import csv
import datetime as _dt
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

from wattprint.core.errors import ConfigError
from wattprint.core.units import J_PER_KWH
from wattprint.store.record import RunRecord

_V2_BASE = (
    "timestamp", "project_name", "run_id", "duration", "emissions", "emissions_rate", "cpu_power", "gpu_power",
    "ram_power", "cpu_energy", "gpu_energy", "ram_energy", "energy_consumed", "country_name", "country_iso_code",
    "region", "cloud_provider", "cloud_region", "os", "python_version",
)
_V2_HW = ("cpu_count", "cpu_model", "gpu_count", "gpu_model", "longitude", "latitude", "ram_total_size",
          "tracking_mode")
_UTIL = ("cpu_utilization_percent", "gpu_utilization_percent", "ram_utilization_percent", "ram_used_gb")


def _with(cols: tuple[str, ...], after: str, *new: str) -> tuple[str, ...]:
    i = cols.index(after) + 1
    return cols[:i] + new + cols[i:]


_L20 = _V2_BASE + _V2_HW + ("on_cloud",)
_L22 = _with(_L20, "python_version", "codecarbon_version")
_L23 = _L22 + ("pue",)
_L27 = _with(_L23, "run_id", "experiment_id")
_L308 = _with(_L27, "energy_consumed", "water_consumed") + ("wue",)
_L32 = _with(_L308, "tracking_mode", *_UTIL)
_T23 = ("task_name",) + _L22
_T308 = _with(_T23, "energy_consumed", "water_consumed")
_T32 = _with(_T308, "tracking_mode", *_UTIL)

# name -> columns in file order, newest first. Checked at tags v1.0.0, v1.1.0, v1.2.0, v2.0.0, v2.1.0, v2.2.0,
# v2.3.0, v2.4.0rc0, v2.5.0, v2.6.0, v2.7.0, v2.7.4, v2.8.0, v2.8.5, v3.0.0-v3.0.9, v3.1.0, v3.1.2, v3.2.1,
# v3.2.5, v3.2.8, v3.2.9 and the master branch after v3.2.9.
LAYOUTS: dict[str, tuple[str, ...]] = {
    "3.2": _L32,
    "3.0.8-3.1": _L308,
    "2.7-3.0.7": _L27,
    "2.3-2.6": _L23,
    "2.2": _L22,
    "2.0-2.1": _L20,
    "1.x": ("timestamp", "experiment_id", "project_name", "duration", "emissions", "energy_consumed",
            "country_name", "country_iso_code", "region", "on_cloud", "cloud_provider", "cloud_region"),
    "tasks 3.2": _T32,
    "tasks 3.0.8-3.1": _T308,
    "tasks 2.3-3.0.7": _T23,
}
# What we write: the newest run layout.
EXPORT_COLUMNS = LAYOUTS["3.2"]
REQUIRED = ("duration", "energy_consumed")


def detect_layout(header: Sequence[str]) -> str:
    """The layout whose columns are exactly ``header``, else the smallest one containing it (task files
    drop empty columns), else "unknown" (read by column name all the same)."""
    cols = [h.strip() for h in header]
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        raise ConfigError(f"not a CodeCarbon emissions file: no {', '.join(missing)} column",
                          "pass the emissions.csv (or emissions_<experiment>_<run>.csv) CodeCarbon wrote")
    is_task = "task_name" in cols
    candidates = {k: v for k, v in LAYOUTS.items() if k.startswith("tasks") == is_task}
    for name, layout in candidates.items():
        if list(layout) == cols or sorted(layout) == sorted(cols):
            return name
    containing = [(len(v), k) for k, v in candidates.items() if set(cols) <= set(v)]
    return min(containing)[1] if containing else "unknown"


def _iso(ts: float | None) -> str:
    if not ts:
        return ""
    return _dt.datetime.fromtimestamp(ts, tz=_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def _kwh(j: float | None) -> float | str:
    return "" if j is None else j / J_PER_KWH


def _power(j: float, s: float) -> float | str:
    return j / s if s > 0 else ""


def _scope(r: RunRecord) -> str:
    """CodeCarbon's tracking_mode ("process" or "machine") from the CPU component's scope."""
    scopes = {c.get("scope") for c in r.components if c.get("kind") == "cpu"}
    scope = next(iter(scopes)) if len(scopes) == 1 else (r.settings or {}).get("cpu_scope", "")
    return scope if scope in ("process", "machine") else ""


def record_to_row(r: RunRecord) -> dict[str, Any]:
    """A wattprint record in CodeCarbon's newest run columns (units as CodeCarbon's: kWh, kg, W, s).

    Rows imported from CodeCarbon are written back as they came. Fields wattprint does not know are left
    empty rather than filled with CodeCarbon's defaults; ``codecarbon_version`` is empty on purpose
    (these figures are wattprint's, not CodeCarbon's).
    """
    raw = (r.environment or {}).get("codecarbon")
    if r.origin == "codecarbon" and raw:
        return {c: raw.get(c, "") for c in EXPORT_COLUMNS}
    em = r.emissions or {}
    env = r.environment or {}
    hw = env.get("hardware") or {}
    ram = hw.get("ram_bytes")
    gpus = env.get("gpus") or []
    kg = None if r.gco2e is None else r.gco2e / 1000.0
    d = r.duration_s
    return {
        "timestamp": _iso(r.finished_at or r.started_at), "project_name": r.model, "run_id": r.run_id,
        "experiment_id": r.plan_key or r.preset, "duration": d, "emissions": "" if kg is None else kg,
        "emissions_rate": "" if kg is None or d <= 0 else kg / d,
        "cpu_power": _power(r.cpu_energy_j, d), "gpu_power": _power(r.gpu_energy_j, d),
        "ram_power": _power(r.ram_energy_j, d), "cpu_energy": _kwh(r.cpu_energy_j),
        "gpu_energy": _kwh(r.gpu_energy_j), "ram_energy": _kwh(r.ram_energy_j), "energy_consumed": _kwh(r.energy_j),
        "water_consumed": "", "country_name": "", "region": "",
        "country_iso_code": em.get("zone") or (em.get("intensity") or {}).get("zone") or "",
        "cloud_provider": "", "cloud_region": "", "os": env.get("platform", ""),
        "python_version": env.get("python", ""),
        "codecarbon_version": "", "cpu_count": hw.get("cpu_cores_logical") or "", "cpu_model": hw.get("cpu_model", ""),
        "gpu_count": len(r.gpu_uuids) or len(gpus) or "",
        "gpu_model": ", ".join(dict.fromkeys(g.get("name", "") for g in gpus if isinstance(g, dict))) or "",
        # CodeCarbon's ram_total_size is bytes / 1024**3 (B_TO_GB in codecarbon/external/hardware.py)
        "longitude": "", "latitude": "", "ram_total_size": ram / 1024**3 if ram else "",
        "tracking_mode": _scope(r), "cpu_utilization_percent": "",
        "gpu_utilization_percent": "", "ram_utilization_percent": "", "ram_used_gb": "", "on_cloud": "",
        "pue": em.get("pue") if em.get("pue") is not None else "", "wue": "",
    }


def write_emissions_csv(records: Iterable[RunRecord], out: str | Path | TextIO) -> int:
    """Write finished records as a CodeCarbon ``emissions.csv`` (newest layout); returns rows written."""
    rows = [record_to_row(r) for r in records if r.status == "finished"]
    if isinstance(out, (str, Path)):
        with open(out, "w", newline="", encoding="utf-8") as f:
            return _write(rows, f)
    return _write(rows, out)


def _write(rows: list[dict[str, Any]], f: TextIO) -> int:
    w = csv.DictWriter(f, fieldnames=list(EXPORT_COLUMNS), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return len(rows)

