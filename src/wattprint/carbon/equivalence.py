"""Emissions and energy in terms people feel, each with its constant and source (data/equivalents.csv)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from wattprint.carbon.tables import CarbonTables
from wattprint.core.units import J_PER_KWH


@dataclass(frozen=True)
class Equivalent:
    """``value`` units of something, computed as energy / constant or gCO2e / constant."""

    key: str
    name: str
    value: float
    unit: str
    constant: float
    constant_unit: str  # "kWh each" or "gCO2e each": the constant per one unit
    applies_to: str  # "energy" or "co2e"
    source: str
    source_url: str = ""
    year: int | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def equivalents(energy_j: float | None = None, gco2e: float | None = None,
                tables: CarbonTables | None = None) -> list[Equivalent]:
    """Every equivalent that the given quantities allow, in table order.

    Energy equivalents (phone charges, searches, bulb hours...) use ``energy_j``; pass the energy the
    grid supplied (after PUE) to compare like with like. CO2e equivalents (miles driven...) use ``gco2e``.
    """
    tables = tables or CarbonTables.load()
    out = []
    for c in tables.equivalents:
        if c.applies_to == "energy" and energy_j is not None:
            value = energy_j / J_PER_KWH / c.per_unit
        elif c.applies_to == "co2e" and gco2e is not None:
            value = gco2e / c.per_unit
        else:
            continue
        out.append(Equivalent(c.key, c.name, value, c.unit, c.per_unit, f"{c.per_unit_unit} each",
                              c.applies_to, c.source, c.source_url, c.year, c.note))
    return out
