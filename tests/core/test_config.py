"""[meter] and [proxy] settings: flags > WATTPRINT_* > config file > defaults; one clear line for a bad value."""

from __future__ import annotations

import pytest

from wattprint.core.config import SECTIONS, config_file, resolve, table_rows
from wattprint.core.errors import ConfigError, UnknownNameError


@pytest.fixture
def cfg(tmp_path, monkeypatch):
    """A config file in a fresh working folder, and an environment that names nothing else."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "wattprint.toml"

    def write(text: str):
        path.write_text(text)
        return path

    return write


def test_defaults_when_nothing_is_set(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = resolve("meter", env={})
    assert s.values == {"gpus": "visible", "cpu": True, "ram": True, "cpu_scope": "process",
                        "counter_reads_per_s": None, "idle_seconds": 0.0}
    assert set(s.origin.values()) == {"default"}
    p = resolve("proxy", env={})
    assert (p["listen"], p["interval"], p["idle_seconds"], p["upstream"]) == ("127.0.0.1:8080", 0.1, 3.0, None)


def test_flag_beats_env_beats_file_beats_default(cfg):
    path = cfg('[meter]\nidle_seconds = 2\ncpu_scope = "machine"\ngpus = [0, "GPU-abc"]\n'
               '[proxy]\ninterval = 0.5\nlisten = "127.0.0.1:9000"\n')
    env = {"WATTPRINT_IDLE_SECONDS": "4", "WATTPRINT_PROXY_LISTEN": "0.0.0.0:9100"}
    s = resolve("meter", {"idle_seconds": 7, "cpu_scope": None}, env=env)
    assert s["idle_seconds"] == 7.0 and s.origin["idle_seconds"] == "flag --idle-seconds"
    assert s["cpu_scope"] == "machine" and s.origin["cpu_scope"] == f"file {path.name}"
    assert s["gpus"] == [0, "GPU-abc"]
    s = resolve("meter", env=env)
    assert s["idle_seconds"] == 4.0 and s.origin["idle_seconds"] == "env WATTPRINT_IDLE_SECONDS"
    p = resolve("proxy", {"interval": None}, env=env)
    assert (p["interval"], p["listen"]) == (0.5, "0.0.0.0:9100")
    assert p["idle_seconds"] == 3.0 and p.origin["idle_seconds"] == "default"


def test_config_path_from_the_variable_and_xdg(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    other = tmp_path / "elsewhere.toml"
    other.write_text("[meter]\nram = false\n")
    assert resolve("meter", env={"WATTPRINT_CONFIG": str(other)})["ram"] is False
    xdg = tmp_path / "xdg" / "wattprint"
    xdg.mkdir(parents=True)
    (xdg / "config.toml").write_text('[meter]\ncpu = "estimate"\n')
    assert config_file({"XDG_CONFIG_HOME": str(tmp_path / "xdg")}) == xdg / "config.toml"
    assert resolve("meter", env={"XDG_CONFIG_HOME": str(tmp_path / "xdg")})["cpu"] == "estimate"
    with pytest.raises(ConfigError, match="WATTPRINT_CONFIG=.*does not exist"):
        resolve("meter", env={"WATTPRINT_CONFIG": str(tmp_path / "missing.toml")})


@pytest.mark.parametrize("env, names", [
    ({"WATTPRINT_IDLE_SECONDS": "-1"},
     ("WATTPRINT_IDLE_SECONDS: expected a finite number >= 0", "export WATTPRINT_IDLE_SECONDS=5")),
    ({"WATTPRINT_IDLE_SECONDS": "nan"}, ("WATTPRINT_IDLE_SECONDS", "'nan'")),
    ({"WATTPRINT_CPU_SCOPE": "node"}, ("WATTPRINT_CPU_SCOPE: expected one of process, machine", "'node'")),
    ({"WATTPRINT_GPUS": "first"}, ("WATTPRINT_GPUS", "GPU indices")),
    ({"WATTPRINT_CPU": "maybe"}, ("WATTPRINT_CPU: expected true or false or rapl or estimate",)),
    ({"WATTPRINT_COUNTER_READS_PER_S": "0"}, ("WATTPRINT_COUNTER_READS_PER_S: expected a finite number > 0",)),
])
def test_a_bad_variable_is_one_line_naming_it_with_the_fix(tmp_path, monkeypatch, env, names):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as e:
        resolve("meter", env=env)
    assert "\n" not in e.value.message and e.value.fix.startswith("e.g. export WATTPRINT_")
    for name in names:
        assert name in str(e.value)


@pytest.mark.parametrize("env, text", [
    ({"WATTPRINT_PROXY_LISTEN": "8080"}, "WATTPRINT_PROXY_LISTEN: expected HOST:PORT"),
    ({"WATTPRINT_PROXY_LISTEN": "h:70000"}, "port from 1 to 65535"),
    ({"WATTPRINT_PROXY_UPSTREAM": "localhost:8000"}, "WATTPRINT_PROXY_UPSTREAM: expected an http:// or https:// URL"),
    ({"WATTPRINT_PROXY_IDLE_POLICY": "fair"}, "expected one of none, even, proportional"),
    ({"WATTPRINT_PROXY_METRICS_PATH": "metrics?x"}, "expected a URL path without spaces, query or fragment"),
])
def test_bad_proxy_variables(tmp_path, monkeypatch, env, text):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=text):
        resolve("proxy", env=env)


def test_a_bad_file_value_names_the_file_table_and_key(cfg):
    cfg("[proxy]\nupstream_timeout = -3\n")
    with pytest.raises(ConfigError) as e:
        resolve("proxy", env={})
    assert e.value.message == "wattprint.toml: [proxy] upstream_timeout: expected a finite number > 0, got -3"
    assert e.value.fix == "e.g. upstream_timeout = '600' in [proxy]"


def test_unknown_keys_and_tables_get_close_matches(cfg):
    cfg("[meter]\nidle_second = 3\n")
    with pytest.raises(UnknownNameError, match="did you mean 'idle_seconds'"):
        resolve("meter", env={})
    cfg("[proxi]\nlisten = '127.0.0.1:1'\n")
    with pytest.raises(UnknownNameError, match="did you mean 'proxy'"):
        resolve("meter", env={})
    cfg("[meter\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        resolve("meter", env={})


def test_a_bad_flag_or_argument_is_named_as_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"^--interval: expected a finite number > 0, got 0"):
        resolve("proxy", {"interval": 0}, env={})
    with pytest.raises(ConfigError, match=r"^idle_seconds=: expected"):
        resolve("meter", {"idle_seconds": "x"}, env={}, flag_label="argument")


def test_the_table_lists_every_setting_once():
    rows = table_rows()
    assert len(rows) == sum(len(k) for k in SECTIONS.values()) == 18
    assert len({r[1] for r in rows}) == len(rows)  # one variable per setting
    assert all(r[1].startswith("WATTPRINT_") for r in rows)
