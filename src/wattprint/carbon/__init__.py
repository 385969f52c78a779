"""Carbon accounting: grid intensity tables, location, live intensity, PUE, equivalents.

Public names are loaded lazily so ``import wattprint.carbon`` reads no file and opens no socket.

    from wattprint.carbon import resolve_location, emissions_for, equivalents
    loc = resolve_location(country="FR")
    em = emissions_for(3.6e6, loc)          # 1 kWh in France
    eq = equivalents(energy_j=em.facility_energy_j, gco2e=em.gco2e)
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "resolve_location": "wattprint.carbon.location",
    "resolve_settings": "wattprint.carbon.location",
    "location_from_settings": "wattprint.carbon.location",
    "Location": "wattprint.carbon.location",
    "CarbonSettings": "wattprint.carbon.location",
    "emissions_for": "wattprint.carbon.accounting",
    "attach_emissions": "wattprint.carbon.accounting",
    "Emissions": "wattprint.carbon.accounting",
    "equivalents": "wattprint.carbon.equivalence",
    "Equivalent": "wattprint.carbon.equivalence",
    "CarbonTables": "wattprint.carbon.tables",
    "Intensity": "wattprint.carbon.tables",
    "ElectricityMapsClient": "wattprint.carbon.live",
    "LiveIntensityError": "wattprint.carbon.live",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'wattprint.carbon' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
