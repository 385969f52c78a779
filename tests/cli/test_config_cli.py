"""`wattprint measure` and `wattprint proxy` read WATTPRINT_* and the config file for the flags not given."""

from __future__ import annotations

import json
import sys

import pytest

from wattprint.cli import proxy as cli_proxy
from wattprint.cli.main import main


@pytest.fixture(autouse=True)
def _clean(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    for var in ("XDG_CONFIG_HOME", "WATTPRINT_CONFIG", "WATTPRINT_COUNTRY", "WATTPRINT_IDLE_SECONDS",
                "WATTPRINT_CPU_SCOPE", "WATTPRINT_GPUS", "WATTPRINT_PROXY_TOKEN", "WATTPRINT_PROXY_UPSTREAM"):
        monkeypatch.delenv(var, raising=False)


def _measure(tmp_path, *flags):
    out = tmp_path / "m.json"
    code = main(["measure", "--gpus", "none", "--json", str(out), *flags, "--", sys.executable, "-c", "pass"])
    return code, (json.loads(out.read_text()) if out.exists() else None)


def test_measure_takes_the_meter_settings_from_the_file_and_the_environment(tmp_path, monkeypatch):
    (tmp_path / "wattprint.toml").write_text('[meter]\ncpu_scope = "machine"\nram = false\nidle_seconds = 0.2\n')
    monkeypatch.setenv("WATTPRINT_IDLE_SECONDS", "0.3")
    code, doc = _measure(tmp_path)
    assert code == 0
    assert doc["meter"]["cpu_scope"] == "machine" and doc["meter"]["ram"] is False  # from the file
    assert doc["idle_seconds"] == pytest.approx(0.3, abs=0.1)  # the environment beats the file
    assert {c["kind"] for c in doc["components"]} == {"cpu"}
    code, doc = _measure(tmp_path, "--cpu-scope", "process", "--idle-seconds", "0")  # flags beat both
    assert doc["meter"]["cpu_scope"] == "process" and doc["idle_seconds"] == 0.0


def test_measure_with_a_bad_variable_is_one_line_and_runs_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WATTPRINT_CPU_SCOPE", "cluster")
    marker = tmp_path / "ran"
    code = main(["measure", "--", sys.executable, "-c", f"open({str(marker)!r}, 'w')"])
    err = capsys.readouterr().err
    assert code == 2 and not marker.exists()
    assert err.splitlines() == [
        "wattprint: error: WATTPRINT_CPU_SCOPE: expected one of process, machine, got 'cluster'",
        "  fix: e.g. export WATTPRINT_CPU_SCOPE=machine"]


def _proxy(monkeypatch, capsys, *flags):
    from wattprint.serve import proxy

    seen = {}
    monkeypatch.setattr(proxy, "serve", lambda app, host, port, **kw: seen.update(app=app, host=host, port=port))
    monkeypatch.setattr(cli_proxy, "_check_bind", lambda host, port: None)  # nothing listens: the server is faked
    code = main(["proxy", "--gpu", "none", "--no-ram", *flags])
    return code, seen, capsys.readouterr().err


def test_proxy_takes_its_settings_from_the_file_and_the_environment(tmp_path, monkeypatch, capsys):
    (tmp_path / "wattprint.toml").write_text(
        '[proxy]\nupstream = "http://127.0.0.1:1"\nlisten = "127.0.0.1:9001"\nidle_seconds = 0\n'
        'upstream_timeout = 42\nidle_policy = "proportional"\n')
    monkeypatch.setenv("WATTPRINT_PROXY_TOKEN", "t0ken")
    monkeypatch.setenv("WATTPRINT_PROXY_LISTEN", "127.0.0.1:9002")
    code, seen, err = _proxy(monkeypatch, capsys, "--upstream-timeout", "7")
    app = seen["app"]
    assert code == 0 and (seen["host"], seen["port"]) == ("127.0.0.1", 9002)  # env beats file
    assert app.config.upstream == "http://127.0.0.1:1" and app.config.token == "t0ken"
    assert app.config.read_timeout_s == 7  # the flag beats the file
    assert app.acct.config.policy == "proportional" and "no idle baseline" in err


def test_proxy_without_an_upstream_anywhere_says_where_to_set_it(monkeypatch, capsys):
    code, seen, err = _proxy(monkeypatch, capsys)
    assert code == 2 and not seen
    assert "no upstream server" in err and "WATTPRINT_PROXY_UPSTREAM" in err


def test_proxy_with_a_bad_file_value_names_the_file_and_key(tmp_path, monkeypatch, capsys):
    (tmp_path / "wattprint.toml").write_text('[proxy]\nupstream = "http://127.0.0.1:1"\ninterval = 0\n')
    code, seen, err = _proxy(monkeypatch, capsys)
    assert code == 2 and not seen
    assert "wattprint.toml: [proxy] interval: expected a finite number > 0, got 0" in err


def test_carbon_config_names_the_file_the_meter_settings_come_from_too(tmp_path):
    (tmp_path / "wattprint.toml").write_text('[meter]\ncpu_scope = "machine"\n')
    other = tmp_path / "site.toml"
    other.write_text('[carbon]\ncountry = "FR"\n[meter]\nram = false\n')
    code, doc = _measure(tmp_path, "--carbon-config", str(other))
    assert code == 0 and doc["meter"]["cpu_scope"] == "process" and doc["meter"]["ram"] is False
    assert doc["emissions"]["intensity"]["zone"] == "FR"


def test_the_world_average_hint_only_when_no_place_was_set(capsys, no_stray_config):
    assert main(["carbon", "--kwh", "1", "--country", "AQ"]) == 0  # a place with no row in the tables
    out, err = capsys.readouterr()
    assert "no intensity in the tables for Antarctica (AQ); world average used" in out
    assert "the place was not set" not in out + err  # it was: --country AQ
    assert main(["carbon", "--kwh", "1"]) == 0
    assert "hint: the place was not set, so the world average was used" in capsys.readouterr().err
