"""Where the electricity comes from, from explicit configuration only (never an IP look-up).

One function resolves the settings: defaults < config file < environment < flags. The location keys
(country, region, cloud, intensity) are taken as a group from the highest level that sets any of them, so
``--country DE`` on the command line replaces a ``cloud = "aws:us-west-2"`` in the config file rather
than being overridden by it. Within a group the most specific wins: intensity > cloud > region > country.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from wattprint.carbon.tables import CarbonTables, Intensity
from wattprint.core.errors import ConfigError, UnknownNameError
from wattprint.core.files import read_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

LOCATION_KEYS = ("country", "region", "cloud", "intensity")
CONFIG_KEYS = LOCATION_KEYS + ("pue", "live", "live_zone")
ENV_VARS = {
    "country": "WATTPRINT_COUNTRY",
    "region": "WATTPRINT_REGION",
    "cloud": "WATTPRINT_CLOUD",
    "intensity": "WATTPRINT_INTENSITY",
    "pue": "WATTPRINT_PUE",
    "live": "WATTPRINT_LIVE",
    "live_zone": "WATTPRINT_LIVE_ZONE",
}
HOW_TO_SET = ("set a place: --country FR | --region US-CA | --cloud aws:us-west-2, or WATTPRINT_COUNTRY=FR, "
              "or [carbon] country = \"FR\" in ./wattprint.toml or ~/.config/wattprint/config.toml")


@dataclass(frozen=True)
class CarbonSettings:
    """Resolved carbon settings; ``origin`` maps each set key to where it came from."""

    country: str | None = None
    region: str | None = None
    cloud: str | None = None
    intensity: float | None = None
    pue: float | None = None
    live: bool = False
    live_zone: str | None = None
    origin: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.intensity is not None and not (math.isfinite(self.intensity) and self.intensity >= 0):
            raise ConfigError(f"intensity ({self._where('intensity')}) must be a finite number >= 0 gCO2e/kWh, "
                              f"got {self.intensity}", fix="e.g. --intensity 56 (or drop it to use the tables)")
        if self.pue is not None and not (math.isfinite(self.pue) and self.pue >= 1.0):
            raise ConfigError(f"PUE ({self._where('pue')}) must be a finite number >= 1.0, got {self.pue}",
                              fix="PUE is facility energy / IT energy, e.g. --pue 1.2 (1.0: no overhead)")

    def _where(self, key: str) -> str:
        return self.origin.get(key, "argument")


@dataclass(frozen=True)
class Location:
    """A resolved place: its zone, the table intensity for it, and how it was chosen.

    ``method`` is "table", "user" (an intensity given by the user) or "defaulted" (nothing set, or a
    country the tables have no figure for: world average). ``pue`` is the default PUE for this setting
    (1.0 for a workstation, the provider's fleet PUE for a cloud region) unless the user set one.
    """

    zone: str
    name: str
    intensity: Intensity
    method: str
    set_by: str
    pue: float
    pue_source: str
    cloud: str | None = None
    grid_zone: Intensity | None = None  # for a cloud region: the table row of the grid it draws from
    live: bool = False
    live_zone: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def defaulted(self) -> bool:
        return self.method == "defaulted"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["warnings"] = list(self.warnings)
        return d


# ---- settings -----------------------------------------------------------------------------------
def default_config_paths(env: Mapping[str, str]) -> list[Path]:
    """./wattprint.toml, then $XDG_CONFIG_HOME (or $HOME/.config)/wattprint/config.toml.

    Only the given ``env`` is consulted, so a caller passing its own mapping gets no surprise from the
    real home directory.
    """
    paths = [Path("wattprint.toml")]
    if env.get("XDG_CONFIG_HOME"):
        paths.append(Path(env["XDG_CONFIG_HOME"]) / "wattprint" / "config.toml")
    elif env.get("HOME"):
        paths.append(Path(env["HOME"]) / ".config" / "wattprint" / "config.toml")
    return paths


def read_config_file(path: Path) -> dict[str, Any]:
    """The ``[carbon]`` table of a TOML file, checked for unknown keys."""
    try:
        data = tomllib.loads(read_text(path, "config file"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML ({e})", f"fix the line it names in {path}") from e
    section = data.get("carbon", {})
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [carbon] must be a table",
                          fix='write it as [carbon] followed by lines such as country = "FR"')
    for key in section:
        if key not in CONFIG_KEYS:
            raise UnknownNameError("config key in [carbon]", key, CONFIG_KEYS, fix=f"edit {path}")
    return dict(section)


def _parse_bool(text: str, where: str) -> bool:
    low = str(text).strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{where}: expected true/false, got {text!r}", fix="use true or false (also 1/0, yes/no, on/off)")


def _parse_float(value: Any, where: str) -> float:
    try:
        if isinstance(value, bool):  # TOML's true is not a PUE of 1.0
            raise TypeError
        return float(value)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{where}: expected a number, got {value!r}",
                          fix="e.g. 1.2 for a PUE, 56 for gCO2e/kWh") from e


# the keys that hold a name, and an example of each
_TEXT_KEYS = {"country": "FR", "region": "US-CA", "cloud": "aws:us-west-2", "live_zone": "FR"}


def _parse_text(value: Any, key: str, where: str) -> str:
    if not isinstance(value, str):  # a file can hold a number or a list where a name belongs
        raise ConfigError(f"{where}: expected a name in quotes, got {value!r}",
                          fix=f'e.g. {key} = "{_TEXT_KEYS[key]}"')
    return value


def _where(origin: str, key: str) -> str:
    """Where a value came from, naming its key: a file's origin ("file PATH") does not."""
    return f"{origin}: [carbon] {key}" if origin.startswith("file") else origin


def _levels(flags: Mapping[str, Any], config_path: Path | None, env: Mapping[str, str]):
    """(name, settings) from lowest to highest precedence."""
    file_settings: dict[str, Any] = {}
    file_name = "file"
    path = config_path
    if path is None and env.get("WATTPRINT_CONFIG"):
        path = Path(env["WATTPRINT_CONFIG"])
    if path is not None:
        if not path.exists():  # the fix names where the path came from: the flag or the variable
            if config_path is None:
                raise ConfigError(f"config file WATTPRINT_CONFIG={path} does not exist",
                                  fix="point WATTPRINT_CONFIG at a TOML file with a [carbon] table, or unset it")
            raise ConfigError(f"config file {path} does not exist",
                              fix="pass the path of a TOML file with a [carbon] table, or drop --carbon-config")
        file_settings, file_name = read_config_file(path), f"file {path}"
    else:
        for candidate in default_config_paths(env):
            if candidate.exists():
                file_settings, file_name = read_config_file(candidate), f"file {candidate}"
                break
    env_settings = {k: env[v] for k, v in ENV_VARS.items() if env.get(v, "").strip()}
    flag_settings = {k: v for k, v in flags.items() if v is not None}
    return [(file_name, file_settings), ("env", env_settings), ("flag", flag_settings)]


def _origin(level: str, key: str, flag_label: str) -> str:
    if level == "env":
        return f"env {ENV_VARS[key]}"
    if level == "flag":
        return f"flag --{key.replace('_', '-')}" if flag_label == "flag" else f"argument {key}"
    return level


def resolve_settings(flags: Mapping[str, Any] | None = None, config_path: Path | str | None = None,
                     env: Mapping[str, str] | None = None, flag_label: str = "flag") -> CarbonSettings:
    """Merge defaults < config file < environment < flags into one CarbonSettings.

    ``flag_label`` names the top level in ``origin``: "flag" for the CLI, "argument" for the library.
    """
    env = dict(os.environ) if env is None else env
    levels = _levels(flags or {}, Path(config_path) if config_path else None, env)
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for name, settings in levels:
        if any(settings.get(k) is not None for k in LOCATION_KEYS):
            for k in LOCATION_KEYS:  # the location group moves as a whole
                merged.pop(k, None)
                origin.pop(k, None)
        for k, v in settings.items():
            if v is None or k not in CONFIG_KEYS:
                continue
            merged[k] = v
            origin[k] = _origin(name, k, flag_label)
    return CarbonSettings(**_parsed(merged, origin), origin=origin)


def _parsed(merged: Mapping[str, Any], origin: Mapping[str, str]) -> dict[str, Any]:
    """Each merged value as its key holds it (text, number, true/false); an error names where it came from."""
    out = dict(merged)
    for key in _TEXT_KEYS:
        if key in out:
            out[key] = _parse_text(out[key], key, _where(origin[key], key))
    for key in ("intensity", "pue"):
        if key in out:
            out[key] = _parse_float(out[key], _where(origin[key], key))
    if "live" in out and not isinstance(out["live"], bool):
        out["live"] = _parse_bool(out["live"], _where(origin["live"], "live"))
    return out


# ---- location -----------------------------------------------------------------------------------
def _pue_for(settings: CarbonSettings, tables: CarbonTables, provider: str | None) -> tuple[float, str]:
    if settings.pue is not None:
        return settings.pue, f"user ({settings.origin.get('pue', 'argument')})"
    entry = tables.pue(provider or "workstation")
    return entry.pue, f"{entry.setting} default: {entry.source}"


def _country_intensity(code: str, tables: CarbonTables) -> tuple[str, str, Intensity, str, list[str]]:
    country = tables.country(code)
    row = tables.grid.get(country.alpha2)
    if row is None:
        note = f"no intensity in the tables for {country.name} ({country.alpha2}); world average used"
        return country.alpha2, country.name, tables.world, "defaulted", [note]
    return country.alpha2, country.name, row, "table", []


def _region_code(settings: CarbonSettings, tables: CarbonTables) -> str:
    """The ISO 3166-2 code of the region; a bare subdivision ("QC") takes the country's prefix. A country and a
    region of another country set together are a conflict, not a silent choice."""
    assert settings.region is not None
    region = settings.region.strip().upper()
    if not settings.country:
        return region
    country = tables.country(settings.country).alpha2
    if "-" not in region:
        return f"{country}-{region}"
    if region.split("-", 1)[0] != country:
        where_c = settings.origin.get("country", "argument country")
        where_r = settings.origin.get("region", "argument region")
        raise ConfigError(
            f"country {settings.country} ({where_c}) and region {region} ({where_r}) disagree: "
            f"{region} is not in {country}",
            f"keep one: the region alone ({region}) decides the grid, or drop the region to use {country}")
    return region


def _place(settings: CarbonSettings, tables: CarbonTables) -> dict[str, Any]:
    """zone/name/intensity/method/cloud/grid_zone/warnings for the most specific location key set."""
    warnings: list[str] = []
    if settings.cloud:
        region = tables.cloud(settings.cloud)
        grid = tables.grid[region.grid_zone]
        used = region.provider_intensity or grid
        ignored = [k for k in ("country", "region") if getattr(settings, k)]
        if ignored:
            warnings.append(f"{' and '.join(ignored)} ignored: the cloud region {region.key} decides the grid")
        return dict(zone=region.key, name=region.location, intensity=used, method="table",
                    cloud=region.key, grid_zone=grid, warnings=warnings, provider=region.provider)
    if settings.region:
        row = tables.subnational(_region_code(settings, tables))
        return dict(zone=row.zone, name=row.name, intensity=row, method="table", warnings=warnings)
    if settings.country:
        zone, name, row, method, notes = _country_intensity(settings.country, tables)
        return dict(zone=zone, name=name, intensity=row, method=method, warnings=notes)
    return dict(zone="WORLD", name="World", intensity=tables.world, method="defaulted",
                warnings=[f"no place set: world average used; {HOW_TO_SET}"])


def location_from_settings(settings: CarbonSettings, tables: CarbonTables | None = None) -> Location:
    """Turn resolved settings into a Location (raises UnknownNameError for unknown codes)."""
    tables = tables or CarbonTables.load()
    place = _place(settings, tables)
    provider = place.pop("provider", None)
    keys = [k for k in ("cloud", "region", "country") if getattr(settings, k)]
    set_by = settings.origin.get(keys[0], "argument") if keys else "default"
    if settings.intensity is not None:
        base: Intensity = place["intensity"]
        place["intensity"] = Intensity(
            zone=place["zone"], name=place["name"], g_per_kwh=settings.intensity, year=None, scope="user-stated",
            gases="CO2e", source=f"user-supplied ({settings.origin.get('intensity', 'argument')})", kind="user",
            note=f"table value for this place would be {base.g_per_kwh:g} g/kWh" if keys else "")
        place["method"] = "user"
        set_by = settings.origin.get("intensity", "argument")
    pue, pue_source = _pue_for(settings, tables, provider)
    warnings = tuple(place.pop("warnings"))
    return Location(**place, set_by=set_by, pue=pue, pue_source=pue_source, live=settings.live,
                    live_zone=settings.live_zone, warnings=warnings)


def resolve_location(country: str | None = None, region: str | None = None, cloud: str | None = None,
                     config_path: Path | str | None = None, env: Mapping[str, str] | None = None, *,
                     intensity: float | None = None, pue: float | None = None, live: bool | None = None,
                     tables: CarbonTables | None = None) -> Location:
    """Resolve a place from arguments, environment and config file (see module docstring).

    Nothing set anywhere gives the world average with ``method == "defaulted"``. Unknown codes raise
    :class:`UnknownNameError` with close matches. ``env`` defaults to ``os.environ``.
    """
    flags = {"country": country, "region": region, "cloud": cloud, "intensity": intensity, "pue": pue,
             "live": live}
    return location_from_settings(resolve_settings(flags, config_path, env, flag_label="argument"), tables)
