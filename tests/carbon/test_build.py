"""The build script turns raw open-data files into the shipped tables, reproducibly."""

import json
import os
from pathlib import Path

import pytest

from wattprint.carbon import build
from wattprint.carbon.tables import CarbonTables

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "src" / "wattprint" / "carbon" / "data"
# the raw inputs are third-party files and not committed; point WATTPRINT_CARBON_RAW at a copy to run the check
RAW = Path(os.environ.get("WATTPRINT_CARBON_RAW", ROOT / "build" / "carbon-raw"))


def write_small_raw(raw: Path, real_iso: Path | None) -> None:
    """Tiny inputs in the same layouts as the real ones (values made up, shapes exact)."""
    raw.mkdir()
    iso1 = {"3166-1": [{"alpha_2": "FR", "alpha_3": "FRA", "name": "France"},
                       {"alpha_2": "US", "alpha_3": "USA", "name": "United States"},
                       {"alpha_2": "CA", "alpha_3": "CAN", "name": "Canada"}]}
    iso2 = {"3166-2": [{"code": "US-OR", "name": "Oregon", "type": "State"},
                       {"code": "CA-QC", "name": "Québec", "type": "Province"}]}
    ember = {"FRA": {"country_code": "FRA", "year": 2024, "emissions_intensity_gco2_per_kwh": 44.18},
             "USA": {"country_code": "USA", "year": 2023, "emissions_intensity_gco2_per_kwh": 380},
             "XKX": {"country_code": "XKX", "year": 2024, "emissions_intensity_gco2_per_kwh": 900},
             "World": {"country_code": "", "year": 2024, "emissions_intensity_gco2_per_kwh": 472.94}}
    egrid = {"oregon": {"emissions": 1000.0, "regionCode": "OR"}}
    nir = [{"EmissionFactors_NIR2021.json": [{"Quebec": {"2018": 1.6, "2019": 1.5}}, {"Canada": {"2019": 120}}]}]
    google = ("Google Cloud Region,Location,Google CFE,Grid carbon intensity (gCO2eq / kWh)\n"
              "us-west1,Oregon,0.87,79.23\n")
    for key, obj in {"iso1": iso1, "iso2": iso2, "ember": ember, "egrid": egrid, "nir": nir}.items():
        (raw / build.RAW_INPUTS[key].filename).write_text(json.dumps(obj), encoding="utf-8")
    (raw / build.RAW_INPUTS["google"].filename).write_text(google, encoding="utf-8")


def test_build_converts_and_reports(tmp_path, monkeypatch):
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_small_raw(raw, None)
    # only map the regions whose zones exist in the tiny inputs
    small_map = tmp_path / "map.csv"
    small_map.write_text("provider,region,location,grid_zone\naws,us-west-2,Oregon,US-OR\n"
                         "gcp,us-west1,Oregon,US-OR\n", encoding="utf-8")
    monkeypatch.setattr(build, "_cloud_map_path", lambda: small_map)
    report = build.build(raw, out)
    assert any("XKX" in line for line in report)
    t = CarbonTables.load_from(out, SHIPPED)
    assert t.grid["FR"].g_per_kwh == 44.18 and t.grid["US"].year == 2023
    assert t.grid["US-OR"].g_per_kwh == pytest.approx(453.59, abs=0.005)  # 1000 lb/MWh
    assert t.grid["CA-QC"].g_per_kwh == 1.5 and t.grid["CA-QC"].year == 2019
    assert t.grid["WORLD"].scope == "life-cycle" and t.grid["US-OR"].scope == "direct"
    assert t.cloud("gcp:us-west1").provider_intensity.g_per_kwh == 79.23
    assert t.cloud("aws:us-west-2").provider_intensity is None
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    build.build(raw, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first


@pytest.mark.skipif(not RAW.exists(),
                    reason="raw inputs not downloaded (python scripts/build_carbon_tables.py --download)")
def test_shipped_tables_are_reproduced_from_the_raw_inputs(tmp_path):
    build.build(RAW, tmp_path)
    for name in ("grid_intensity.csv", "countries.csv", "cloud_regions.csv"):
        assert (tmp_path / name).read_bytes() == (SHIPPED / name).read_bytes(), name
