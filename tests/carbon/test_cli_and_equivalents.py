"""`wattprint carbon`, the equivalents table, and emissions on a meter Measurement."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from wattprint.carbon import attach_emissions, emissions_for, equivalents, resolve_location
from wattprint.cli.main import main
from wattprint.meter.result import ComponentEnergy, Kind, Measurement, Method

DATA = Path(__file__).resolve().parents[2] / "src" / "wattprint" / "carbon" / "data"


def test_must_show_carbon_kwh_11_49_us_json(capsys):
    assert main(["carbon", "--kwh", "11.49", "--country", "US", "--json", "-"]) == 0
    out = json.loads(capsys.readouterr().out)
    em, eq = out["emissions"], {e["key"]: e for e in out["equivalents"]}
    # Ember 2024 United States 383.55 gCO2e/kWh (life-cycle), workstation PUE 1.0
    assert em["gco2e"] == pytest.approx(11.49 * 383.55)
    assert em["intensity"] == {
        "g_per_kwh": 383.55, "zone": "US", "zone_name": "United States", "year": 2024,
        "source": em["intensity"]["source"], "source_url": "https://ember-energy.org/data/yearly-electricity-data/",
        "scope": "life-cycle", "gases": "CO2e", "method": "table", "set_by": "flag --country"}
    assert "Ember" in em["intensity"]["source"] and em["pue"] == 1.0 and em["pue_source"]
    assert eq["smartphone_charges"]["value"] == pytest.approx(11.49 / 0.0116)
    assert eq["miles_driven"]["value"] == pytest.approx(11.49 * 383.55 / 393)
    assert eq["km_driven"]["value"] == pytest.approx(11.49 * 383.55 / 244.2)
    assert all(e["source"] for e in out["equivalents"])


def test_text_output_and_units(capsys, tmp_path):
    out_file = tmp_path / "r.json"
    assert main(["carbon", "--wh", "500", "--region", "ca-qc", "--json", str(out_file)]) == 0
    text = capsys.readouterr().out
    assert "Quebec" in text and "Canada NIR" in text and "Smartphone charges" in text
    data = json.loads(out_file.read_text())
    assert data["emissions"]["gco2e"] == pytest.approx(0.5 * 1.5)
    assert main(["carbon", "--joules", "3600000", "--cloud", "azure:westeurope", "--json", "-"]) == 0
    em = json.loads(capsys.readouterr().out)["emissions"]
    assert em["pue"] == 1.18 and em["facility_energy_j"] == pytest.approx(3.6e6 * 1.18)


def test_defaulted_prints_a_hint(capsys):
    assert main(["carbon", "--kwh", "1"]) == 0
    captured = capsys.readouterr()
    assert "[method: defaulted]" in captured.out
    assert "hint:" in captured.err and "--country" in captured.err


def test_unknown_country_is_a_clear_error(capsys):
    assert main(["carbon", "--kwh", "1", "--country", "Frnace"]) == 2
    err = capsys.readouterr().err
    assert "unknown country 'Frnace'" in err and "'France'" in err and "fix:" in err


def test_live_without_key_is_a_clear_error(capsys):
    assert main(["carbon", "--kwh", "1", "--country", "FR", "--live"]) == 2
    assert "ELECTRICITYMAPS_API_KEY" in capsys.readouterr().err


def test_equivalents_energy_and_co2e_constants_match_the_csv():
    with (DATA / "equivalents.csv").open() as f:
        rows = {r["key"]: r for r in csv.DictReader(f)}
    eq = {e.key: e for e in equivalents(energy_j=3.6e6, gco2e=1000.0)}
    assert set(eq) == set(rows)
    for key, e in eq.items():
        per = float(rows[key]["per_unit"])
        expected = (1.0 if e.applies_to == "energy" else 1000.0) / per
        assert e.value == pytest.approx(expected) and e.source == rows[key]["source"]
    assert {e.key for e in equivalents(energy_j=1.0)} == {k for k, r in rows.items() if r["applies_to"] == "energy"}
    assert {e.key for e in equivalents(gco2e=1.0)} == {k for k, r in rows.items() if r["applies_to"] == "co2e"}


def test_measurement_gets_emissions():
    m = Measurement(name="w", started_at=1.7e9, duration_s=10.0, components=(
        ComponentEnergy(Kind.GPU, "sim", 3.0e6, Method.COUNTER, 1.0, "sim"),
        ComponentEnergy(Kind.CPU, "sim", 0.6e6, Method.ESTIMATED, 1.0e4, "sim")))
    m2 = attach_emissions(m, resolve_location(country="PL", env={}))
    assert m2.emissions.gco2e == pytest.approx(614.98)
    d = m2.to_dict()["emissions"]
    assert d["intensity"]["zone"] == "PL" and d["pue"] == 1.0 and d["method"] == "table"


def test_emissions_reject_bad_input():
    loc = resolve_location(country="FR", env={})
    with pytest.raises(ValueError):
        emissions_for(-1.0, loc)
    with pytest.raises(ValueError):
        emissions_for(1.0, loc, pue=0.5)


def test_import_is_free():
    code = ("import sys, wattprint.carbon, wattprint.carbon.cli_args; "
            "heavy = ('urllib.request', 'http.client', 'socket', 'csv', 'torch', 'numpy'); "
            "print([m for m in heavy if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
