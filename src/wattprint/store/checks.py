"""Is a stored record a measurement the reports can use? One rule for the importer and the store's reader."""

from __future__ import annotations

import math

from wattprint.store.record import RunRecord

# Fields that are a quantity of energy, time, carbon or work: finite and not negative when present.
_NON_NEGATIVE = (
    "energy_j", "duration_s", "energy_uncertainty_j", "gpu_energy_j", "cpu_energy_j", "ram_energy_j",
    "load_energy_j", "load_duration_s", "wh_per_1000", "gpu_wh_per_1000", "gco2e", "gco2e_per_1000",
)


def bad_number(value: object) -> str | None:
    """Why ``value`` is not a usable quantity (None: it is one, or it is absent)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{value!r} is not a number"
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return f"{value} is not finite"
    if value < 0:
        return f"{value} is negative"
    return None


def invalid_reason(record: RunRecord) -> str | None:
    """Why a finished ``record`` cannot be reported (a negative, NaN or infinite quantity), or None if it can."""
    for name in _NON_NEGATIVE:
        why = bad_number(getattr(record, name, None))
        if why:
            return f"{name} {why}"
    if isinstance(record.inferences, bool) or not isinstance(record.inferences, int) or record.inferences < 0:
        return f"inferences {record.inferences!r} is not a count"
    return None
