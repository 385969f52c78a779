"""Build the shipped intensity tables from open-data files.

Run ``python scripts/build_carbon_tables.py [--raw DIR] [--download]``. It reads the raw inputs named in
``RAW_INPUTS`` (from ``--raw``, default ``build/carbon-raw``), joins them with the hand-kept map of cloud
regions in ``data/sources/cloud_regions_map.csv``, and writes ``data/grid_intensity.csv``,
``data/countries.csv`` and ``data/cloud_regions.csv``. The output depends only on the raw files, so two runs
on the same inputs give byte-identical tables. ``--download`` fetches the raw files from the pinned
addresses first (needs the internet); ``data/README.md`` lists each source, its licence and year.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import sys
import unicodedata
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"
LB_PER_MWH_TO_G_PER_KWH = 0.45359237  # 1 lb = 453.59237 g (exact); 1 MWh = 1000 kWh

GRID_COLUMNS = [
    "zone", "kind", "name", "country", "g_co2e_per_kwh", "year", "scope", "gases",
    "source", "source_url", "licence", "note",
]
CLOUD_COLUMNS = [
    "provider", "region", "location", "grid_zone", "provider_g_co2e_per_kwh", "provider_year",
    "provider_scope", "provider_source", "provider_source_url",
]


@dataclass(frozen=True)
class RawInput:
    """One raw open-data file: where to get it, under which licence, and what it holds."""

    filename: str
    url: str
    licence: str
    description: str


RAW_INPUTS: dict[str, RawInput] = {
    "ember": RawInput(
        "ember_average_intensities.json",
        "https://raw.githubusercontent.com/thegreenwebfoundation/co2.js/"
        "b459b5e543c6cfb49ad429627e325e14c45697e1/data/output/average-intensities.json",
        "data: Ember, CC BY 4.0; file layout: co2.js (Apache-2.0)",
        "Ember yearly electricity data (country_overview_yearly), latest year per country, gCO2e/kWh",
    ),
    "egrid": RawInput(
        "egrid2016_state_lb_per_mwh.json",
        "https://raw.githubusercontent.com/mlco2/codecarbon/"
        "b05965e43b690cdc53787c7577adbe6e2caf4ed9/codecarbon/data/private_infra/2016/usa_emissions.json",
        "data: US EPA eGRID, US public domain; file layout: codecarbon (MIT)",
        "US EPA eGRID2016 state annual CO2 total output emission rates, lb/MWh",
    ),
    "nir": RawInput(
        "nrc_all_nir_reports.json",
        "https://raw.githubusercontent.com/nrc-cnrc/OpenStudio-Measures/"
        "e247ba1dddef1933dc99f894594f5203f28cb4e9/measures/nrc_report_carbon_emissions/resources/"
        "all_nir_reports.json",
        "data: Environment and Climate Change Canada, Open Government Licence - Canada",
        "Canada's National Inventory Report, Annex 13 electricity generation intensity, g CO2e/kWh",
    ),
    "google": RawInput(
        "google_region_carbon_2024.csv",
        "https://raw.githubusercontent.com/GoogleCloudPlatform/region-carbon-info/"
        "49f3f26bfd682305e8d9b572fea1f811900421a9/data/yearly/2024.csv",
        "Apache-2.0 (GoogleCloudPlatform/region-carbon-info)",
        "Google Cloud regions: grid carbon intensity (gCO2eq/kWh) published by Google for 2024",
    ),
    "iso1": RawInput(
        "iso_3166-1.json",
        "https://salsa.debian.org/iso-codes-team/iso-codes/-/raw/v4.15.0/data/iso_3166-1.json",
        "LGPL-2.1+ (Debian iso-codes 4.15.0); the codes themselves are ISO 3166-1",
        "ISO 3166-1 country codes (alpha-2, alpha-3, names)",
    ),
    "iso2": RawInput(
        "iso_3166-2.json",
        "https://salsa.debian.org/iso-codes-team/iso-codes/-/raw/v4.15.0/data/iso_3166-2.json",
        "LGPL-2.1+ (Debian iso-codes 4.15.0); the codes themselves are ISO 3166-2",
        "ISO 3166-2 subdivision codes (US states, Canadian provinces)",
    ),
}

EMBER = ("Ember, Yearly Electricity Data (via co2.js average-intensities.json)",
         "https://ember-energy.org/data/yearly-electricity-data/", "CC BY 4.0")
EGRID = ("US EPA eGRID2016, state annual CO2 total output emission rate (via codecarbon usa_emissions.json)",
         "https://www.epa.gov/egrid", "US public domain")
NIR = ("Canada NIR 1990-2019 (2021 submission), Annex 13 electricity generation intensity "
       "(via nrc-cnrc/OpenStudio-Measures)",
       "https://publications.gc.ca/site/eng/9.506002/publication.html",
       "Open Government Licence - Canada")
GOOGLE = ("Google Cloud, Carbon free energy for Google Cloud regions, 2024 (grid carbon intensity)",
          "https://cloud.google.com/sustainability/region-carbon")


def fold(text: str) -> str:
    """Lower-case ASCII form of a name, for matching 'Québec' with 'Quebec'."""
    norm = unicodedata.normalize("NFKD", text)
    return "".join(c for c in norm if not unicodedata.combining(c)).lower().strip()


def _num(value: float) -> str:
    """A stable text form for a number: up to 2 decimals, no trailing zeros."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def country_rows(iso1: dict) -> list[dict[str, str]]:
    rows = [
        {"alpha2": c["alpha_2"], "alpha3": c["alpha_3"], "name": c["name"],
         "common_name": c.get("common_name", ""), "official_name": c.get("official_name", "")}
        for c in iso1["3166-1"]
    ]
    return sorted(rows, key=lambda r: r["alpha2"])


def ember_rows(ember: dict, iso1: dict, report: list[str]) -> list[dict[str, str]]:
    """World and one row per country from Ember's latest year; codes outside ISO 3166 are reported."""
    by_a3 = {c["alpha_3"]: c for c in iso1["3166-1"]}
    source, url, licence = EMBER
    rows = []
    for key, rec in ember.items():
        value = rec.get("emissions_intensity_gco2_per_kwh")
        if value is None:
            continue
        base = {"g_co2e_per_kwh": _num(float(value)), "year": str(rec["year"]), "scope": "life-cycle",
                "gases": "CO2e", "source": source, "source_url": url, "licence": licence, "note": ""}
        if key == "World":
            rows.append({**base, "zone": "WORLD", "kind": "world", "name": "World", "country": ""})
        elif key in by_a3:
            c = by_a3[key]
            rows.append({**base, "zone": c["alpha_2"], "kind": "country", "name": c["name"],
                         "country": c["alpha_2"]})
        elif len(key) == 3 and key.isupper():
            report.append(f"ember: {key} ({rec.get('country_or_region')}) is not an ISO 3166-1 code; skipped")
    return rows


def _subdivisions(iso2: dict, country: str) -> dict[str, dict]:
    return {fold(s["name"]): s for s in iso2["3166-2"] if s["code"].startswith(country + "-")}


def egrid_rows(egrid: dict, iso2: dict, report: list[str]) -> list[dict[str, str]]:
    """US states from eGRID: lb CO2/MWh -> g CO2/kWh."""
    subs = {s["code"]: s for s in _subdivisions(iso2, "US").values()}
    source, url, licence = EGRID
    rows = []
    for rec in egrid.values():
        code = f"US-{rec['regionCode']}" if isinstance(rec, dict) else None
        if code is None or code not in subs:
            if isinstance(rec, dict):
                report.append(f"egrid: {rec.get('regionCode')} is not a US subdivision; skipped")
            continue
        g = float(rec["emissions"]) * LB_PER_MWH_TO_G_PER_KWH
        rows.append({"zone": code, "kind": "subnational", "name": subs[code]["name"], "country": "US",
                     "g_co2e_per_kwh": _num(g), "year": "2016", "scope": "direct", "gases": "CO2",
                     "source": source, "source_url": url, "licence": licence,
                     "note": f"{rec['emissions']} lb/MWh x 0.45359237"})
    return rows


def nir_rows(nir: list, iso2: dict, report: list[str], edition: str = "EmissionFactors_NIR2021.json"):
    """Canadian provinces and territories from the newest NIR edition in the file, latest year."""
    tables = [entry[edition] for entry in nir if edition in entry]
    if not tables:
        raise ValueError(f"NIR file has no {edition!r} entry")
    subs = _subdivisions(iso2, "CA")
    source, url, licence = NIR
    rows = []
    for item in tables[0]:
        (name, series), = item.items()
        sub = subs.get(fold(name))
        if sub is None:
            if fold(name) != "canada":
                report.append(f"nir: {name!r} is not a Canadian subdivision; skipped")
            continue
        year = max(series, key=int)
        note = ""
        if sub["code"] == "CA-PE":
            note = "Same series as New Brunswick in this transcription (PEI imports most power from NB)."
        rows.append({"zone": sub["code"], "kind": "subnational", "name": sub["name"], "country": "CA",
                     "g_co2e_per_kwh": _num(float(series[year])), "year": year, "scope": "direct",
                     "gases": "CO2e", "source": source, "source_url": url, "licence": licence, "note": note})
    return rows


def cloud_rows(mapping: Iterable[dict], google_csv: str, zones: set[str], report: list[str]):
    """The region map joined with Google's published per-region grid intensity."""
    google = {}
    for rec in csv.DictReader(io.StringIO(google_csv)):
        google[rec["Google Cloud Region"].strip()] = rec["Grid carbon intensity (gCO2eq / kWh)"].strip()
    rows, seen = [], set()
    for m in mapping:
        if m["grid_zone"] not in zones:
            raise ValueError(f"cloud region {m['provider']}:{m['region']} maps to unknown zone {m['grid_zone']}")
        row = {k: m[k] for k in ("provider", "region", "location", "grid_zone")}
        row.update({k: "" for k in CLOUD_COLUMNS[4:]})
        if m["provider"] == "gcp" and m["region"] in google:
            row.update({"provider_g_co2e_per_kwh": _num(float(google[m["region"]])), "provider_year": "2024",
                        "provider_scope": "direct", "provider_source": GOOGLE[0],
                        "provider_source_url": GOOGLE[1]})
        seen.add((m["provider"], m["region"]))
        rows.append(row)
    for region in sorted(google):
        if ("gcp", region) not in seen:
            report.append(f"google: region {region} has a published figure but no grid_zone in the map")
    return sorted(rows, key=lambda r: (r["provider"], r["region"]))


def _write_csv(path: Path, columns: list[str], rows: list[dict[str, str]]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def _read_raw(raw_dir: Path, key: str) -> str:
    path = raw_dir / RAW_INPUTS[key].filename
    if not path.exists():
        raise FileNotFoundError(f"{path} missing; run with --download or fetch {RAW_INPUTS[key].url}")
    return path.read_text(encoding="utf-8-sig")


def _cloud_map_path() -> Path:
    return DATA_DIR / "sources" / "cloud_regions_map.csv"


def build(raw_dir: Path, out_dir: Path = DATA_DIR) -> list[str]:
    """Build the three tables into ``out_dir``; return the report lines (skips, unmapped regions)."""
    report: list[str] = []
    iso1 = json.loads(_read_raw(raw_dir, "iso1"))
    iso2 = json.loads(_read_raw(raw_dir, "iso2"))
    grid = ember_rows(json.loads(_read_raw(raw_dir, "ember")), iso1, report)
    grid += egrid_rows(json.loads(_read_raw(raw_dir, "egrid")), iso2, report)
    grid += nir_rows(json.loads(_read_raw(raw_dir, "nir")), iso2, report)
    grid.sort(key=lambda r: ({"world": 0, "country": 1, "subnational": 2}[r["kind"]], r["zone"]))
    with _cloud_map_path().open(encoding="utf-8") as f:
        mapping = list(csv.DictReader(f))
    clouds = cloud_rows(mapping, _read_raw(raw_dir, "google"), {r["zone"] for r in grid}, report)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_csv(out_dir / "grid_intensity.csv", GRID_COLUMNS, grid)
    _write_csv(out_dir / "countries.csv", ["alpha2", "alpha3", "name", "common_name", "official_name"],
               country_rows(iso1))
    _write_csv(out_dir / "cloud_regions.csv", CLOUD_COLUMNS, clouds)
    for key, spec in RAW_INPUTS.items():
        digest = hashlib.sha256((raw_dir / spec.filename).read_bytes()).hexdigest()
        report.append(f"input {key}: {spec.filename} sha256 {digest}")
    return report


def download(raw_dir: Path, timeout_s: float = 60.0) -> None:
    """Fetch every raw input from its pinned address into ``raw_dir``."""
    raw_dir.mkdir(parents=True, exist_ok=True)
    for spec in RAW_INPUTS.values():
        with urllib.request.urlopen(spec.url, timeout=timeout_s) as resp:  # noqa: S310 (fixed https URLs)
            (raw_dir / spec.filename).write_bytes(resp.read())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Build wattprint's carbon intensity tables from open data.")
    p.add_argument("--raw", type=Path, default=Path("build/carbon-raw"), help="folder with the raw inputs")
    p.add_argument("--out", type=Path, default=DATA_DIR, help="where to write the tables")
    p.add_argument("--download", action="store_true", help="fetch the raw inputs first (needs internet)")
    args = p.parse_args(argv)
    if args.download:
        download(args.raw)
    for line in build(args.raw, args.out):
        print(line)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
