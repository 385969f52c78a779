"""The shipped tables: grid intensity per zone, ISO country codes, cloud regions, PUE, equivalents.

Nothing is cached at module level: ``CarbonTables.load()`` reads the small CSVs (a few hundred rows, a
few milliseconds) and the caller keeps the object as long as it likes.
"""

from __future__ import annotations

import csv
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from wattprint.core.errors import UnknownNameError

DATA_DIR = Path(__file__).parent / "data"

# Other spellings people use for the three providers.
PROVIDER_ALIASES = {
    "aws": "aws", "amazon": "aws", "ec2": "aws",
    "gcp": "gcp", "google": "gcp", "gcloud": "gcp", "google-cloud": "gcp",
    "azure": "azure", "microsoft": "azure",
}


@dataclass(frozen=True)
class Intensity:
    """Carbon intensity of electricity for one zone, with where the number comes from.

    ``g_per_kwh`` is grams CO2e (or CO2 where ``gases`` says so) per kWh. ``scope`` is "life-cycle"
    (construction, fuel supply and combustion) or "direct" (combustion at the plant only).
    """

    zone: str
    name: str
    g_per_kwh: float
    year: int | None
    scope: str
    gases: str
    source: str
    source_url: str = ""
    licence: str = ""
    note: str = ""
    kind: str = "country"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Country:
    alpha2: str
    alpha3: str
    name: str
    common_name: str = ""


@dataclass(frozen=True)
class CloudRegion:
    """A cloud region, the grid zone it draws from, and the provider's own figure if it publishes one."""

    provider: str
    region: str
    location: str
    grid_zone: str
    provider_intensity: Intensity | None = None

    @property
    def key(self) -> str:
        return f"{self.provider}:{self.region}"


@dataclass(frozen=True)
class PueEntry:
    setting: str
    pue: float
    year: int | None
    source: str
    source_url: str = ""
    note: str = ""


@dataclass(frozen=True)
class EquivalentConstant:
    """One row of equivalents.csv: ``per_unit`` kWh (energy) or gCO2e (co2e) per unit."""

    key: str
    name: str
    unit: str
    applies_to: str  # "energy" or "co2e"
    per_unit: float
    per_unit_unit: str
    year: int | None
    source: str
    source_url: str = ""
    note: str = ""


def _fold(text: str) -> str:
    """Lower-case ASCII form of a name ("Québec" -> "quebec")."""
    norm = unicodedata.normalize("NFKD", text)
    return "".join(c for c in norm if not unicodedata.combining(c)).lower().strip()


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _year(text: str) -> int | None:
    return int(text) if text.strip() else None


def _intensity(row: dict[str, str]) -> Intensity:
    return Intensity(
        zone=row["zone"], name=row["name"], g_per_kwh=float(row["g_co2e_per_kwh"]), year=_year(row["year"]),
        scope=row["scope"], gases=row["gases"], source=row["source"], source_url=row["source_url"],
        licence=row["licence"], note=row["note"], kind=row["kind"],
    )


def _cloud(row: dict[str, str]) -> CloudRegion:
    provider_intensity = None
    if row["provider_g_co2e_per_kwh"]:
        provider_intensity = Intensity(
            zone=f"{row['provider']}:{row['region']}", name=f"{row['region']} ({row['location']})",
            g_per_kwh=float(row["provider_g_co2e_per_kwh"]), year=_year(row["provider_year"]),
            scope=row["provider_scope"], gases="CO2e", source=row["provider_source"],
            source_url=row["provider_source_url"], kind="cloud",
            note="published by the provider for this region's grid (location-based, before its own purchases)",
        )
    return CloudRegion(row["provider"], row["region"], row["location"], row["grid_zone"], provider_intensity)


class CarbonTables:
    """All shipped tables, loaded from CSV. Look-ups raise UnknownNameError with close matches."""

    def __init__(self, grid: list[Intensity], countries: list[Country], clouds: list[CloudRegion],
                 pue: list[PueEntry], equivalents: list[EquivalentConstant]) -> None:
        self.grid = {i.zone: i for i in grid}
        self.countries = countries
        self._by_a2 = {c.alpha2: c for c in countries}
        self._by_a3 = {c.alpha3: c for c in countries}
        self._by_name = {n.lower(): c for c in countries for n in (c.name, c.common_name) if n}
        self.clouds = {c.key: c for c in clouds}
        self.pue_entries = {p.setting: p for p in pue}
        self.equivalents = equivalents

    @classmethod
    def load(cls, data_dir: Path = DATA_DIR) -> CarbonTables:
        """The shipped tables (or a folder holding all five CSVs)."""
        return cls.load_from(data_dir, data_dir)

    @classmethod
    def load_from(cls, built_dir: Path, authored_dir: Path) -> CarbonTables:
        """Built tables (grid, countries, clouds) from one folder, authored ones (PUE, equivalents) from another."""
        grid = [_intensity(r) for r in _read(built_dir / "grid_intensity.csv")]
        countries = [Country(r["alpha2"], r["alpha3"], r["name"], r["common_name"])
                     for r in _read(built_dir / "countries.csv")]
        clouds = [_cloud(r) for r in _read(built_dir / "cloud_regions.csv")]
        pue = [PueEntry(r["setting"], float(r["pue"]), _year(r["year"]), r["source"], r["source_url"], r["note"])
               for r in _read(authored_dir / "pue.csv")]
        eq = [EquivalentConstant(r["key"], r["name"], r["unit"], r["applies_to"], float(r["per_unit"]),
                                 r["per_unit_unit"], _year(r["year"]), r["source"], r["source_url"], r["note"])
              for r in _read(authored_dir / "equivalents.csv")]
        return cls(grid, countries, clouds, pue, eq)

    # ---- look-ups -----------------------------------------------------------------------------
    @property
    def world(self) -> Intensity:
        return self.grid["WORLD"]

    def country(self, code: str) -> Country:
        """A country by ISO 3166-1 alpha-2 or alpha-3 code (any case) or by its English name."""
        text = code.strip()
        up = text.upper()
        found = self._by_a2.get(up) or self._by_a3.get(up) or self._by_name.get(text.lower())
        if found is None:
            known = [c.alpha2 for c in self.countries] + [c.alpha3 for c in self.countries]
            known += [c.name for c in self.countries]
            raise UnknownNameError("country", code, known,
                                   fix="use an ISO 3166-1 code such as FR, FRA or US "
                                       "(list: wattprint carbon --list countries)")
        return found

    def subnational(self, code: str) -> Intensity:
        """A sub-national grid by ISO 3166-2 code (any case): US-CA, CA-QC."""
        up = code.strip().upper()
        found = self.grid.get(up)
        if found is None:  # a full name also works: "West Virginia", "quebec"
            by_name = [i for i in self.grid.values() if i.kind == "subnational" and _fold(i.name) == _fold(code)]
            found = by_name[0] if len(by_name) == 1 else None
        if found is None or found.kind != "subnational":
            known = [z for z, i in self.grid.items() if i.kind == "subnational"]
            known += [i.name for i in self.grid.values() if i.kind == "subnational"]
            raise UnknownNameError("region", code, known,
                                   fix="use an ISO 3166-2 code of a US state or Canadian province, e.g. US-CA, CA-QC")
        return found

    def cloud(self, spec: str) -> CloudRegion:
        """A cloud region written ``provider:region`` (aws:us-west-2, gcp:europe-west1, azure:westeurope)."""
        provider, sep, region = spec.strip().lower().partition(":")
        provider = PROVIDER_ALIASES.get(provider, provider)
        key = f"{provider}:{region}"
        if not sep or key not in self.clouds:
            raise UnknownNameError("cloud region", spec, list(self.clouds),
                                   fix="write it as provider:region, e.g. aws:us-west-2, gcp:us-central1, "
                                       "azure:westeurope")
        return self.clouds[key]

    def pue(self, setting: str) -> PueEntry:
        if setting not in self.pue_entries:
            raise UnknownNameError("PUE setting", setting, list(self.pue_entries))
        return self.pue_entries[setting]
