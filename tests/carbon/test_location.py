"""Location from explicit configuration only: defaults < config file < environment < flags."""

import pytest

from wattprint.carbon import resolve_location
from wattprint.carbon.location import resolve_settings
from wattprint.core.errors import ConfigError, UnknownNameError


@pytest.fixture
def cfg(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[carbon]\ncloud = "aws:eu-west-3"\npue = 1.25\n', encoding="utf-8")
    return path


def test_nothing_set_is_world_average_defaulted(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./wattprint.toml here
    loc = resolve_location(env={"HOME": str(tmp_path)})
    assert (loc.zone, loc.method, loc.set_by, loc.pue) == ("WORLD", "defaulted", "default", 1.0)
    assert any("--country" in w for w in loc.warnings)


def test_config_file_is_read(cfg):
    loc = resolve_location(config_path=cfg, env={})
    assert loc.cloud == "aws:eu-west-3" and loc.grid_zone.zone == "FR"
    assert loc.pue == 1.25 and "file" in loc.pue_source
    assert loc.set_by == f"file {cfg}"


def test_default_config_locations(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    home_cfg = tmp_path / "xdg" / "wattprint" / "config.toml"
    home_cfg.parent.mkdir(parents=True)
    home_cfg.write_text('[carbon]\ncountry = "PL"\n')
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    assert resolve_location(env=env).zone == "PL"
    (tmp_path / "wattprint.toml").write_text('[carbon]\ncountry = "SE"\n')  # ./wattprint.toml comes first
    assert resolve_location(env=env).zone == "SE"


def test_env_beats_file_and_flags_beat_env(cfg):
    env = {"WATTPRINT_COUNTRY": "de", "WATTPRINT_PUE": "1.4"}
    loc = resolve_location(config_path=cfg, env=env)
    # the location group moves as a whole: env's country replaces the file's cloud
    assert (loc.zone, loc.cloud, loc.set_by) == ("DE", None, "env WATTPRINT_COUNTRY")
    assert loc.pue == 1.4
    loc = resolve_location(country="FR", pue=1.1, config_path=cfg, env=env)
    assert (loc.zone, loc.pue, loc.set_by) == ("FR", 1.1, "argument country")


def test_most_specific_key_wins_within_a_level():
    loc = resolve_location(country="US", region="WV", env={})
    assert loc.zone == "US-WV"
    loc = resolve_location(country="DE", cloud="gcp:europe-west9", env={})
    assert loc.cloud == "gcp:europe-west9" and any("ignored" in w for w in loc.warnings)


def test_user_intensity_is_method_user_and_keeps_the_place():
    loc = resolve_location(country="FR", intensity=20.0, env={})
    assert (loc.method, loc.zone, loc.intensity.g_per_kwh) == ("user", "FR", 20.0)
    assert "44.18" in loc.intensity.note
    env_loc = resolve_location(env={"WATTPRINT_INTENSITY": "123.5"})
    assert env_loc.method == "user" and env_loc.intensity.g_per_kwh == 123.5


def test_pue_defaults_per_setting():
    assert resolve_location(country="FR", env={}).pue == 1.0
    assert resolve_location(cloud="aws:us-east-1", env={}).pue == 1.14
    assert resolve_location(cloud="gcp:us-central1", env={}).pue == 1.09
    assert resolve_location(cloud="azure:westeurope", env={}).pue == 1.18


def test_bad_settings_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError):
        resolve_location(country="FR", pue=0.9, env={})
    with pytest.raises(ConfigError):
        resolve_location(env={"WATTPRINT_PUE": "abc"})
    bad = tmp_path / "bad.toml"
    bad.write_text('[carbon]\ncountri = "FR"\n')
    with pytest.raises(UnknownNameError) as e:
        resolve_location(config_path=bad, env={})
    assert "country" in e.value.matches
    with pytest.raises(ConfigError):
        resolve_location(config_path=tmp_path / "missing.toml", env={})


def test_live_flag_from_env():
    s = resolve_settings({}, None, {"WATTPRINT_LIVE": "yes", "WATTPRINT_COUNTRY": "FR"})
    assert s.live is True and s.origin["live"] == "env WATTPRINT_LIVE"


@pytest.mark.parametrize("line, said", [
    ("country = 5", "[carbon] country: expected a name in quotes, got 5"),
    ('country = ["FR"]', "[carbon] country: expected a name in quotes, got ['FR']"),
    ("region = 3", "[carbon] region: expected a name in quotes, got 3"),
    ("cloud = 3", "[carbon] cloud: expected a name in quotes, got 3"),
    ("live_zone = 3", "[carbon] live_zone: expected a name in quotes, got 3"),
    ("pue = true", "[carbon] pue: expected a number, got True"),
    ("intensity = false", "[carbon] intensity: expected a number, got False"),
    ("live = 3", "[carbon] live: expected true/false, got 3"),
])
@pytest.mark.parametrize("where", ["flag", "cwd"])
def test_a_config_value_of_the_wrong_type_is_one_line_naming_file_and_key(tmp_path, capsys, line, said, where):
    from wattprint.cli.main import main

    path = tmp_path / ("c.toml" if where == "flag" else "wattprint.toml")
    path.write_text(f"[carbon]\n{line}\n")
    code = main(["carbon", "--kwh", "1", *(["--carbon-config", str(path)] if where == "flag" else [])])
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.strip()]
    assert code == 2 and "Traceback" not in err, err
    assert len(lines) == 2 and lines[1].startswith("  fix: "), err
    assert lines[0].startswith("wattprint: error: file ") and said in lines[0], err
