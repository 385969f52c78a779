"""`wattprint measure` reports emissions and equivalents for the place given by the location flags."""

import json
import sys

import pytest

from wattprint.cli.main import main


def test_measure_with_a_region(tmp_path, capsys):
    out = tmp_path / "m.json"
    rc = main(["measure", "--gpus", "none", "--region", "US-WV", "--pue", "1.2", "--json", str(out), "--",
               sys.executable, "-c", "sum(range(200000))"])
    assert rc == 0
    doc = json.loads(out.read_text())
    em = doc["emissions"]
    assert em["intensity"]["zone"] == "US-WV" and em["intensity"]["year"] == 2016 and em["pue"] == 1.2
    assert em["gco2e"] == pytest.approx(doc["total_energy_j"] * 1.2 / 3.6e6 * em["intensity"]["g_per_kwh"])
    assert {q["key"] for q in doc["equivalents"]} >= {"smartphone_charges", "miles_driven"}
    err = capsys.readouterr().err
    assert "West Virginia" in err and "Smartphone charges" in err


def test_measure_without_place_says_defaulted(capsys):
    assert main(["measure", "--gpus", "none", "--", sys.executable, "-c", "pass"]) == 0
    err = capsys.readouterr().err
    assert "[method: defaulted]" in err and "--country" in err


def test_measure_rejects_unknown_place_before_running(tmp_path, capsys):
    marker = tmp_path / "ran"
    rc = main(["measure", "--gpus", "none", "--country", "Frnace", "--", sys.executable, "-c",
               f"open({str(marker)!r}, 'w').close()"])
    assert rc == 2 and not marker.exists()
    assert "France" in capsys.readouterr().err
