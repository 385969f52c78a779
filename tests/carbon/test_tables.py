"""The shipped tables: real numbers, read back from the CSV files independently of the library."""

import csv
from pathlib import Path

import pytest

from wattprint.carbon import emissions_for, resolve_location
from wattprint.carbon.tables import CarbonTables
from wattprint.core.errors import UnknownNameError

DATA = Path(__file__).resolve().parents[2] / "src" / "wattprint" / "carbon" / "data"
KWH = 3.6e6
NO_ENV: dict = {}


def csv_rows(name):
    with (DATA / name).open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def grid_value(zone):
    (row,) = [r for r in csv_rows("grid_intensity.csv") if r["zone"] == zone]
    return float(row["g_co2e_per_kwh"]), row


@pytest.mark.parametrize("kwargs, zone", [
    ({"country": "FR"}, "FR"),
    ({"country": "PL"}, "PL"),
    ({"region": "US-WV"}, "US-WV"),
    ({"region": "US-CA"}, "US-CA"),
    ({"country": "US", "region": "CA"}, "US-CA"),
    ({"region": "CA-QC"}, "CA-QC"),
])
def test_one_kwh_gives_the_table_intensity(kwargs, zone):
    value, row = grid_value(zone)
    em = emissions_for(KWH, resolve_location(env=NO_ENV, **kwargs))
    assert em.gco2e == pytest.approx(value, rel=1e-12)
    assert em.intensity_g_per_kwh == value
    assert (em.zone, em.year, em.scope, em.source, em.method, em.pue) == (
        zone, int(row["year"]), row["scope"], row["source"], "table", 1.0)


def test_known_values_from_the_sources():
    # Ember 2024: France 44.18, Poland 614.98 g/kWh; eGRID2016 WV 1975.757 lb/MWh x 0.45359237
    assert grid_value("FR")[0] == 44.18
    assert grid_value("PL")[0] == 614.98
    assert grid_value("US-WV")[0] == pytest.approx(1975.757 * 0.45359237, abs=0.005)
    assert grid_value("WORLD")[1]["kind"] == "world"


def test_aws_us_west_2_uses_the_oregon_grid_and_aws_pue():
    value, _ = grid_value("US-OR")
    loc = resolve_location(cloud="aws:us-west-2", env=NO_ENV)
    em = emissions_for(KWH, loc, pue=1.0)
    assert em.gco2e == pytest.approx(value)
    assert loc.grid_zone.zone == "US-OR"
    pue = [r for r in csv_rows("pue.csv") if r["setting"] == "aws"][0]
    em_default = emissions_for(KWH, loc)
    assert em_default.pue == float(pue["pue"]) == 1.14
    assert em_default.gco2e == pytest.approx(value * 1.14)
    assert em_default.facility_energy_j == pytest.approx(KWH * 1.14)


def test_gcp_region_uses_googles_published_figure_and_labels_it():
    (row,) = [r for r in csv_rows("cloud_regions.csv") if r["region"] == "us-central1"]
    em = emissions_for(KWH, resolve_location(cloud="gcp:us-central1", env=NO_ENV), pue=1.0)
    assert em.intensity_g_per_kwh == float(row["provider_g_co2e_per_kwh"]) == 412.72
    assert "Google" in em.source and em.year == 2024


def test_lower_case_and_alpha3_codes():
    fr = resolve_location(country="FR", env=NO_ENV)
    for code in ("fr", "FRA", "fra", " Fr ", "France"):
        assert resolve_location(country=code, env=NO_ENV).intensity == fr.intensity
    assert resolve_location(region="us-wv", env=NO_ENV).zone == "US-WV"
    assert resolve_location(region="West Virginia", env=NO_ENV).zone == "US-WV"
    assert resolve_location(region="québec", env=NO_ENV).zone == "CA-QC"
    assert resolve_location(cloud="AWS:US-WEST-2", env=NO_ENV).zone == "aws:us-west-2"


def test_unknown_country_suggests_codes_and_names():
    with pytest.raises(UnknownNameError) as e:
        resolve_location(country="Frnace", env=NO_ENV)
    assert "France" in e.value.matches
    with pytest.raises(UnknownNameError) as e:
        resolve_location(country="POLL", env=NO_ENV)
    assert "POL" in e.value.matches and "did you mean" in str(e.value)
    with pytest.raises(UnknownNameError) as e:
        resolve_location(region="US-WY2", env=NO_ENV)
    assert "US-WY" in e.value.matches
    with pytest.raises(UnknownNameError) as e:
        resolve_location(cloud="aws:us-west-9", env=NO_ENV)
    assert "aws:us-west-2" in e.value.matches


def test_country_without_figure_falls_back_to_world_and_says_so():
    loc = resolve_location(country="AQ", env=NO_ENV)
    assert loc.method == "defaulted" and loc.intensity.zone == "WORLD"
    assert any("Antarctica" in w for w in loc.warnings)


def test_every_row_has_value_year_source_scope():
    grid = csv_rows("grid_intensity.csv")
    assert len([r for r in grid if r["kind"] == "country"]) > 200
    assert len([r for r in grid if r["zone"].startswith("US-")]) == 51  # 50 states + DC
    assert len([r for r in grid if r["zone"].startswith("CA-")]) == 13
    for r in grid:
        assert float(r["g_co2e_per_kwh"]) >= 0 and int(r["year"]) >= 2016
        assert r["source"] and r["source_url"] and r["licence"]
        assert r["scope"] in ("life-cycle", "direct") and r["gases"] in ("CO2e", "CO2")


def test_iso_table_and_cloud_map_are_complete():
    countries = csv_rows("countries.csv")
    assert len(countries) == 249 and {"FR", "US", "PL"} <= {c["alpha2"] for c in countries}
    t = CarbonTables.load()
    for provider in ("aws", "gcp", "azure"):
        assert sum(1 for k in t.clouds if k.startswith(provider + ":")) >= 25
    for c in t.clouds.values():
        assert c.grid_zone in t.grid


@pytest.mark.parametrize("energy, pue", [(float("nan"), None), (float("inf"), None), (1.0, float("nan"))])
def test_emissions_refuse_numbers_that_are_not_finite(energy, pue):
    from wattprint.carbon import emissions_for, resolve_location

    with pytest.raises(ValueError, match="finite"):
        emissions_for(energy, resolve_location(country="FR"), pue=pue)
