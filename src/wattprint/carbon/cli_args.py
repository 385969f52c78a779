"""Location flags shared by every command that reports emissions (carbon, measure, bench...).

    add_location_arguments(parser)
    loc = location_from_args(args)               # flags > env > config file > defaults
    live = live_client_from_args(args)           # None unless --live (or live = true) and a key is set
    print(render_text(emissions, equivalents))   # or emissions_payload(...) for JSON
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from typing import Any

from wattprint.core.errors import ConfigError


def add_location_arguments(parser: argparse.ArgumentParser) -> None:
    """Add --country/--region/--cloud/--intensity/--pue/--carbon-config/--live to ``parser``."""
    g = parser.add_argument_group(
        "place and carbon", "Where the electricity comes from. Without any of these (and no WATTPRINT_* "
        "variable or config file) the world average is used and the result says 'defaulted'.")
    g.add_argument("--country", metavar="CODE", help="ISO 3166-1 country code, alpha-2 or alpha-3 (FR, FRA, us)")
    g.add_argument("--region", metavar="CODE", help="US state or Canadian province, ISO 3166-2 (US-CA, CA-QC)")
    g.add_argument("--cloud", metavar="PROVIDER:REGION", help="cloud region, e.g. aws:us-west-2, gcp:us-central1, "
                   "azure:westeurope (sets the grid and the provider's fleet PUE)")
    g.add_argument("--intensity", metavar="G", type=float, help="your own grid intensity in gCO2e/kWh")
    g.add_argument("--pue", metavar="P", type=float, help="power usage effectiveness (default 1.0 on a "
                   "workstation, the provider's published fleet PUE for a cloud region)")
    g.add_argument("--carbon-config", metavar="FILE", help="TOML file with a [carbon] table (default ./wattprint.toml"
                   " or ~/.config/wattprint/config.toml)")
    g.add_argument("--live", action="store_true", default=None,
                   help="hourly intensity from Electricity Maps (needs ELECTRICITYMAPS_API_KEY); falls back to the "
                        "table on any error")


def _flags(args: argparse.Namespace) -> dict[str, Any]:
    return {k: getattr(args, k, None) for k in ("country", "region", "cloud", "intensity", "pue", "live")}


def settings_from_args(args: argparse.Namespace, env: Mapping[str, str] | None = None):
    from wattprint.carbon.location import resolve_settings

    return resolve_settings(_flags(args), getattr(args, "carbon_config", None), env)


def location_from_args(args: argparse.Namespace, env: Mapping[str, str] | None = None, tables=None):
    """The Location these arguments (and the environment and config file) describe."""
    from wattprint.carbon.location import location_from_settings

    return location_from_settings(settings_from_args(args, env), tables)


def live_client_from_args(location, env: Mapping[str, str] | None = None):
    """An Electricity Maps client when live intensity was asked for; a clear error without a key."""
    if not location.live:
        return None
    from wattprint.carbon.live import API_KEY_ENV, ElectricityMapsClient

    client = ElectricityMapsClient.from_env(os.environ if env is None else env)
    if client is None:
        raise ConfigError("live intensity asked for but no Electricity Maps API key is set",
                          fix=f"export {API_KEY_ENV}=<your key>, or drop --live to use the tables")
    return client


def measurement_carbon(args: argparse.Namespace, env: Mapping[str, str] | None = None):
    """(Location, live client or None) for a command that measures: resolve before running, so a typo in
    --country fails before the work starts rather than after."""
    location = location_from_args(args, env)
    return location, live_client_from_args(location, env)


def emissions_payload(emissions, equivalents, location) -> dict[str, Any]:
    """The JSON shape both `wattprint carbon` and `wattprint measure` print."""
    return {
        "emissions": emissions.to_dict(),
        "location": {"zone": location.zone, "name": location.name, "cloud": location.cloud,
                     "grid_zone": location.grid_zone.to_dict() if location.grid_zone else None,
                     "set_by": location.set_by},
        "equivalents": [e.to_dict() for e in equivalents],
    }


def _fmt(x: float) -> str:
    return f"{x:,.3g}" if abs(x) < 1000 else f"{x:,.0f}"


def render_text(emissions, equivalents, location=None) -> str:
    """Human lines: emissions, intensity with provenance, PUE, equivalents, warnings and a hint."""
    e = emissions
    year = f", {e.year}" if e.year else ""
    lines = [
        f"emissions      {_fmt(e.gco2e)} g{e.gases} ({e.scope} intensity) [method: {e.method}]",
        f"energy         {_fmt(e.energy_j / 3.6e6)} kWh at the machine x PUE {e.pue:g} = "
        f"{_fmt(e.facility_energy_j / 3.6e6)} kWh from the grid",
        f"intensity      {_fmt(e.intensity_g_per_kwh)} g{e.gases}/kWh for {e.zone_name} ({e.zone}{year})",
        f"  source       {e.source}" + (f" <{e.source_url}>" if e.source_url else ""),
        f"  place set by {e.set_by}",
        f"  PUE          {e.pue:g}: {e.pue_source}",
    ]
    if location is not None and location.grid_zone is not None and location.grid_zone.zone != e.zone:
        g = location.grid_zone
        lines.append(f"  grid table   {g.zone} {g.g_per_kwh:g} g{g.gases}/kWh ({g.source}, {g.year}, {g.scope})")
    if equivalents:
        lines.append("equivalent to")
        lines += [f"  {_fmt(q.value):>12} {q.unit:<9} {q.name} ({q.constant:g} {q.constant_unit})"
                  for q in equivalents]
        lines.append("  (constants and their sources: wattprint carbon --list equivalents, or the JSON output)")
    lines += [f"note: {w}" for w in e.warnings]
    return "\n".join(lines)
