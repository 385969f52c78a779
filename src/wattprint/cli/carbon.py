"""`wattprint carbon`: the emissions and equivalents of an amount of energy at a place."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Iterator
from typing import Any

from wattprint.carbon.cli_args import add_location_arguments
from wattprint.cli.args import number, output_file, write_output
from wattprint.core.errors import ConfigError

HELP = "emissions and equivalents of an amount of energy (kWh, Wh or J) at a place"
DESCRIPTION = (
    "Turn energy into gCO2e for a country, US state, Canadian province or cloud region, with the intensity's "
    "source, year and scope, the PUE applied, and everyday equivalents. Example: "
    "wattprint carbon --kwh 11.49 --country US --json -"
)
LISTS = ("countries", "regions", "clouds", "pue", "equivalents")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    energy = parser.add_mutually_exclusive_group()
    energy.add_argument("--kwh", type=number(minimum=0, example="--kwh 11.49"), metavar="X",
                        help="energy in kilowatt-hours")
    energy.add_argument("--wh", type=number(minimum=0, example="--wh 250"), metavar="X", help="energy in watt-hours")
    energy.add_argument("--joules", type=number(minimum=0, example="--joules 3600"), metavar="X",
                        help="energy in joules")
    add_location_arguments(parser)
    parser.add_argument("--start", metavar="ISO8601", help="window start, for --live hourly intensity")
    parser.add_argument("--end", metavar="ISO8601", help="window end, for --live hourly intensity")
    parser.add_argument("--json", metavar="FILE", type=output_file(".json", stdout=True),
                        help="write the result as JSON to FILE ('-' for stdout)")
    parser.add_argument("--list", choices=LISTS, help="print a shipped table and exit")


def _energy_j(args: argparse.Namespace) -> float:
    from wattprint.core.units import J_PER_KWH, J_PER_WH

    if args.kwh is not None:
        value = args.kwh * J_PER_KWH
    elif args.wh is not None:
        value = args.wh * J_PER_WH
    elif args.joules is not None:
        value = args.joules
    else:
        raise ConfigError("no energy given", fix="pass --kwh X, --wh X or --joules X")
    if not math.isfinite(value):  # a finite kWh can still overflow in joules (1e308 kWh)
        raise ConfigError("the energy is too large to compute with", fix="pass a smaller value, e.g. --kwh 11.49")
    return value


def _countries(t: Any) -> Iterator[str]:
    for c in t.countries:
        row = t.grid.get(c.alpha2)
        val = f"{row.g_per_kwh:g} gCO2e/kWh {row.year} ({row.scope})" if row else "no figure (world average)"
        yield f"{c.alpha2}  {c.alpha3}  {c.name:<44} {val}"


def _regions(t: Any) -> Iterator[str]:
    for z, i in t.grid.items():
        if i.kind == "subnational":
            yield f"{z:<6} {i.name:<28} {i.g_per_kwh:g} g{i.gases}/kWh {i.year} ({i.scope}) {i.source}"


def _clouds(t: Any) -> Iterator[str]:
    for key, c in t.clouds.items():
        p = c.provider_intensity
        own = f"provider {p.g_per_kwh:g} ({p.year})" if p else ""
        yield f"{key:<32} {c.grid_zone:<6} {c.location:<36} {own}"


def _pues(t: Any) -> Iterator[str]:
    for p in t.pue_entries.values():
        yield f"{p.setting:<12} {p.pue:g}  {p.year or '':<5} {p.source}"


def _equivalents(t: Any) -> Iterator[str]:
    for q in t.equivalents:
        yield f"{q.key:<22} {q.per_unit:g} {q.per_unit_unit} per {q.unit:<10} {q.source}"


_LISTERS: dict[str, Callable[[Any], Iterator[str]]] = {
    "countries": _countries, "regions": _regions, "clouds": _clouds, "pue": _pues, "equivalents": _equivalents,
}


def _print_list(which: str) -> None:
    from wattprint.carbon.tables import CarbonTables

    for line in _LISTERS[which](CarbonTables.load()):
        print(line)


def _window(args: argparse.Namespace, live: bool):
    """(start, end) of --start/--end, or (None, None). They choose the hours of live intensity, so they are
    refused without it (live from --live, WATTPRINT_LIVE or the config file) rather than ignored."""
    from wattprint.carbon.live import parse_time

    if (args.start is None) != (args.end is None):
        raise ConfigError("--start and --end go together",
                          fix="pass both, e.g. --start 2026-01-31T14:00Z --end 2026-01-31T15:00Z")
    if args.start is None:
        return None, None
    try:
        start, end = parse_time(args.start), parse_time(args.end)
    except ValueError as e:
        raise ConfigError(f"bad --start/--end: {e}", fix="use ISO 8601, e.g. 2026-01-31T14:00:00Z") from e
    if end < start:
        raise ConfigError(f"--end {args.end} is before --start {args.start}", fix="swap them")
    if not live:
        raise ConfigError("--start/--end choose the hours of live intensity, and live intensity is off",
                          fix="add --live (needs ELECTRICITYMAPS_API_KEY), or drop --start/--end")
    return start, end


def run(args: argparse.Namespace) -> int:
    if args.list:
        _print_list(args.list)
        return 0
    from wattprint.carbon.accounting import emissions_for
    from wattprint.carbon.cli_args import emissions_payload, live_client_from_args, location_from_args, render_text
    from wattprint.carbon.equivalence import equivalents
    from wattprint.carbon.tables import CarbonTables

    energy_j = _energy_j(args)
    tables = CarbonTables.load()
    location = location_from_args(args, tables=tables)
    start, end = _window(args, location.live)
    em = emissions_for(energy_j, location, start=start, end=end, live=live_client_from_args(location))
    eq = equivalents(energy_j=em.facility_energy_j, gco2e=em.gco2e, tables=tables)
    text = json.dumps(emissions_payload(em, eq, location), indent=2, allow_nan=False) if args.json else ""
    print(text if args.json == "-" else render_text(em, eq, location))
    if location.defaulted and location.set_by == "default":  # a place without a table row has its own note
        from wattprint.carbon.location import HOW_TO_SET

        print(f"hint: the place was not set, so the world average was used; {HOW_TO_SET}", file=sys.stderr)
    if args.json and args.json != "-":
        write_output(args.json, text + "\n", what="JSON result", suffix=".json")
    return 0
