"""An error says what is actually wrong, and its fix fits: a preset path that does not exist or is a folder,
a README.md that is a folder, a config file named by WATTPRINT_CONFIG, a store that is a folder or missing,
a port the proxy cannot bind; and a result never prints a number hundreds of digits long."""

from __future__ import annotations

import socket

import pytest
from cli_helpers import assert_one_error


# ---- bench --preset -----------------------------------------------------------------------------
def test_preset_file_that_does_not_exist(cli, tmp_path):
    code, out, err = cli("bench", "--preset", str(tmp_path / "nonexist.toml"), "--store", str(tmp_path / "w.db"))
    assert_one_error(code, err, f"preset file {tmp_path / 'nonexist.toml'} does not exist",
                     "fix: check the path, or name a shipped preset: aienergyscore, paper, quick")
    assert out == "" and not (tmp_path / "w.db").exists()


def test_preset_that_is_a_folder(cli, tmp_path):
    code, _, err = cli("bench", "--preset", str(tmp_path), "--store", str(tmp_path / "w.db"))
    assert_one_error(code, err, f"preset {tmp_path} is a folder, not a preset file", "fix: give a .toml file")


def test_preset_name_typo_still_gets_the_close_match(cli, tmp_path):
    code, _, err = cli("bench", "--preset", "quik", "--store", str(tmp_path / "w.db"))
    assert_one_error(code, err, "unknown preset 'quik'; did you mean 'quick'?",
                     "fix: name one of aienergyscore, paper, quick, or give the path of a .toml file")


# ---- card ---------------------------------------------------------------------------------------
def test_card_readme_that_is_a_folder(cli, tmp_path, store_path):
    d = tmp_path / "model"
    (d / "README.md").mkdir(parents=True)
    (d / "config.json").write_text("{}")
    code, _, err = cli("card", str(d), "--store", str(store_path), "--model", "distilbert-sst2")
    assert_one_error(code, err, f"{d / 'README.md'} is a folder, not a model card",
                     "fix: move or rename that folder: the card is the file README.md")
    assert "permissions" not in err


# ---- WATTPRINT_CONFIG ---------------------------------------------------------------------------
def test_config_variable_that_names_no_file_is_named(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("WATTPRINT_CONFIG", str(tmp_path / "nonexist.toml"))
    code, out, err = cli("carbon", "--kwh", "1")
    assert_one_error(code, err, f"config file WATTPRINT_CONFIG={tmp_path / 'nonexist.toml'} does not exist",
                     "fix: point WATTPRINT_CONFIG at a TOML file with a [carbon] table, or unset it")
    assert "--carbon-config" not in err and out == ""


# ---- stores -------------------------------------------------------------------------------------
def test_export_store_that_is_a_folder(cli, tmp_path):
    code, _, err = cli("export", "--store", str(tmp_path), "-o", str(tmp_path / "x.csv"))
    assert_one_error(code, err, f"the store {tmp_path} is a folder, not a store file",
                     f"fix: pass the store's file, e.g. --store {tmp_path / 'wattprint.db'}")


def test_breakeven_store_that_does_not_exist(cli, tmp_path):
    code, _, err = cli("breakeven", "--model", "bert", "--training-kwh", "3", "--store", str(tmp_path / "nope.db"))
    assert_one_error(code, err, f"no store at {tmp_path / 'nope.db'}: the file does not exist",
                     "fix: pass --store PATH of a store that ran bert, or --wh-per-1000 WH")
    assert "no inference energy" not in err and not (tmp_path / "nope.db").exists()


# ---- breakeven numbers --------------------------------------------------------------------------
@pytest.mark.parametrize("argv, said", [
    (["--wh-per-1000", "1", "--queries-per-day", "1e-300"], "5.00×10³⁰⁶ days"),
    (["--kwh-per-inference", "1e-300", "--queries-per-day", "1"], "break-even after 5.00×10³⁰⁰ inferences"),
])
def test_breakeven_extreme_numbers_print_short(cli, argv, said):
    code, out, err = cli("breakeven", "--training-kwh", "5", *argv)
    assert code == 0, err
    assert said in out
    assert max(len(line) for line in out.splitlines()) < 160, out


def test_breakeven_small_rate_is_not_printed_as_zero(cli):
    code, out, _ = cli("breakeven", "--training-kwh", "5", "--wh-per-1000", "1", "--queries-per-day", "0.5")
    assert code == 0 and "at 0.5 queries per day: 10,000,000.0 days (27,378.51 years)" in out


# ---- proxy --listen -----------------------------------------------------------------------------
@pytest.fixture
def no_server(monkeypatch):
    import uvicorn

    def started(*a, **kw):
        raise AssertionError("the proxy started although it cannot listen")

    monkeypatch.setattr(uvicorn, "run", started)


def test_proxy_port_in_use(cli, no_server):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = cli("proxy", "--upstream", "http://127.0.0.1:1", "--listen", f"127.0.0.1:{port}",
                             "--idle-seconds", "0")
    assert_one_error(code, err, f"the proxy cannot listen on 127.0.0.1:{port}: Address already in use",
                     f"fix: stop what listens on port {port}, or pick another port")
    assert out == "" and "ERROR" not in err


def test_proxy_host_that_is_not_an_address(cli, no_server):
    code, _, err = cli("proxy", "--upstream", "http://127.0.0.1:1", "--listen", "999.1.1.1:8080",
                       "--idle-seconds", "0")
    assert_one_error(code, err, "the proxy cannot listen on 999.1.1.1:8080: 999.1.1.1 is not an address of this "
                                "machine", "fix: listen on an address of this machine: --listen 127.0.0.1:8080")
