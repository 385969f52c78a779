"""Energy x PUE x intensity = emissions, with every assumption written into the result."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from wattprint.carbon.live import API_KEY_ENV, ElectricityMapsClient, HourSlice, LiveIntensityError, hourly_slices
from wattprint.carbon.live import SOURCE as LIVE_SOURCE
from wattprint.carbon.location import Location
from wattprint.core.errors import ConfigError
from wattprint.core.units import J_PER_KWH


@dataclass(frozen=True)
class Emissions:
    """Emissions of one energy figure, and everything needed to check it.

    ``energy_j`` is the energy measured at the machine; ``facility_energy_j`` = ``energy_j`` x ``pue``
    is what the grid supplied. ``gco2e`` = facility kWh x ``intensity_g_per_kwh``. For a live hourly
    result ``intensity_g_per_kwh`` is the energy-weighted mean of ``hourly`` and ``year`` is None.
    ``method``: "table", "live", "user" or "defaulted".
    """

    gco2e: float
    energy_j: float
    facility_energy_j: float
    intensity_g_per_kwh: float
    zone: str
    zone_name: str
    year: int | None
    source: str
    scope: str
    method: str
    pue: float
    pue_source: str
    set_by: str = ""
    source_url: str = ""
    gases: str = "CO2e"
    hourly: tuple[HourSlice, ...] = ()
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def kgco2e(self) -> float:
        return self.gco2e / 1000.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "gco2e": self.gco2e,
            "energy_j": self.energy_j,
            "facility_energy_j": self.facility_energy_j,
            "intensity": {
                "g_per_kwh": self.intensity_g_per_kwh, "zone": self.zone, "zone_name": self.zone_name,
                "year": self.year, "source": self.source, "source_url": self.source_url, "scope": self.scope,
                "gases": self.gases, "method": self.method, "set_by": self.set_by,
            },
            "pue": self.pue,
            "pue_source": self.pue_source,
            "method": self.method,
            "hourly": [h.to_dict() for h in self.hourly],
            "warnings": list(self.warnings),
        }


def _utc(t: datetime | float | None) -> datetime | None:
    """Aware UTC datetime from a datetime (naive taken as UTC) or Unix seconds."""
    if t is None:
        return None
    if isinstance(t, datetime):
        return t.astimezone(timezone.utc) if t.tzinfo else t.replace(tzinfo=timezone.utc)
    return datetime.fromtimestamp(float(t), tz=timezone.utc)


def _table(energy_j: float, location: Location, pue: float, pue_source: str, notes: list[str]) -> Emissions:
    i = location.intensity
    facility = energy_j * pue
    return Emissions(
        gco2e=facility / J_PER_KWH * i.g_per_kwh, energy_j=energy_j, facility_energy_j=facility,
        intensity_g_per_kwh=i.g_per_kwh, zone=location.zone, zone_name=location.name, year=i.year,
        source=i.source, scope=i.scope, method=location.method, pue=pue, pue_source=pue_source,
        set_by=location.set_by, source_url=i.source_url, gases=i.gases,
        warnings=tuple(location.warnings) + tuple(notes),
    )


def _live(energy_j: float, location: Location, pue: float, pue_source: str, client: ElectricityMapsClient,
          window: tuple[datetime, datetime] | None) -> Emissions:
    zone = location.live_zone or (location.grid_zone.zone if location.grid_zone else location.zone)
    facility = energy_j * pue
    notes: list[str] = []
    slices: tuple[HourSlice, ...]
    if window is None:
        point = client.latest(zone)
        slices = (HourSlice(point.start, point.start, facility, point.g_per_kwh, point.estimated),)
        notes.append(f"latest hourly value ({point.start.isoformat()}) applied: no measurement window given")
    else:
        got, notes = hourly_slices(client, zone, window[0], window[1], facility)
        slices = tuple(got)
    gco2e = sum(s.energy_j / J_PER_KWH * s.g_per_kwh for s in slices)
    mean = gco2e / (facility / J_PER_KWH) if facility > 0 else slices[0].g_per_kwh
    return Emissions(
        gco2e=gco2e, energy_j=energy_j, facility_energy_j=facility, intensity_g_per_kwh=mean, zone=zone,
        zone_name=location.name, year=None, source=f"{LIVE_SOURCE} ({client.base_url}), hourly",
        scope="life-cycle" if client.emission_factor_type == "lifecycle" else "direct", method="live",
        pue=pue, pue_source=pue_source, set_by=location.set_by, hourly=slices,
        warnings=tuple(location.warnings) + tuple(notes),
    )


def _live_client(live: ElectricityMapsClient | bool | None, location: Location) -> ElectricityMapsClient | None:
    """``live``: a client; True (client from ELECTRICITYMAPS_API_KEY, required); False (never); None (as the
    location's settings say: WATTPRINT_LIVE, ``live = true`` in the config file, --live)."""
    if isinstance(live, ElectricityMapsClient) or live is False:
        return live or None
    if live is None and not location.live:
        return None
    client = ElectricityMapsClient.from_env()
    if client is None:
        raise ConfigError("live intensity asked for but no Electricity Maps API key is set",
                          fix=f"export {API_KEY_ENV}=<your key>, or turn live off to use the tables")
    return client


def emissions_for(energy_j: float, location: Location, pue: float | None = None,
                  start: datetime | float | None = None, end: datetime | float | None = None,
                  live: ElectricityMapsClient | bool | None = None) -> Emissions:
    """Emissions of ``energy_j`` joules used at ``location``.

    ``pue`` overrides the location's default. With live intensity (``live`` a client, True, or None with
    live set in the location's settings) the intensity of each clock hour between ``start`` and ``end``
    (datetimes or Unix seconds) is applied to that hour's share of the energy; without a window the
    latest value is used. Any live failure falls back to the table and the result says why in
    ``warnings``. A user-supplied intensity is never replaced. Raises ConfigError when live is asked
    for and no API key is set.
    """
    if not (math.isfinite(energy_j) and energy_j >= 0):
        raise ValueError(f"energy must be a finite number >= 0 J, got {energy_j}")
    use_pue = location.pue if pue is None else float(pue)
    pue_source = location.pue_source if pue is None else "user (argument pue=)"
    if not (math.isfinite(use_pue) and use_pue >= 1.0):
        raise ValueError(f"PUE must be a finite number >= 1.0, got {use_pue}")
    notes: list[str] = []
    live = _live_client(live, location)
    if live is not None and location.method != "user":
        s, e = _utc(start), _utc(end)
        window = (s, e) if s is not None and e is not None else None
        try:
            return _live(energy_j, location, use_pue, pue_source, live, window)
        except LiveIntensityError as err:
            notes.append(f"live intensity unavailable ({err.message}); table value used")
    elif live is not None:
        notes.append("live intensity not used: the user supplied an intensity")
    return _table(energy_j, location, use_pue, pue_source, notes)


def attach_emissions(measurement: Any, location: Location, pue: float | None = None,
                     live: ElectricityMapsClient | bool | None = None) -> Any:
    """A copy of a meter ``Measurement`` with ``emissions`` filled for its whole window."""
    start = measurement.started_at
    end = start + measurement.duration_s
    em = emissions_for(measurement.total_energy_j, location, pue=pue, start=start, end=end, live=live)
    return measurement.with_emissions(em)
