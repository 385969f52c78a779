"""A config, plan or preset file that is not UTF-8 (or not a file) is one line naming it and the fix."""

from __future__ import annotations

import pytest

from wattprint.cli.main import main
from wattprint.core.errors import ConfigError
from wattprint.core.files import read_text

LATIN1 = "# r\u00e9gion par d\u00e9faut\n".encode("latin-1")


def _one_error(err: str) -> tuple[str, str]:
    lines = err.splitlines()
    assert len(lines) == 2 and "Traceback" not in err, err
    assert lines[0].startswith("wattprint: error: ") and lines[1].startswith("  fix: ")
    return lines[0], lines[1]


def test_a_latin1_wattprint_toml_is_one_line_with_the_fix(tmp_path, monkeypatch, capsys):
    (tmp_path / "wattprint.toml").write_bytes(LATIN1 + b'[carbon]\ncountry = "FR"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WATTPRINT_CONFIG", raising=False)
    assert main(["carbon", "--kwh", "1"]) == 2
    error, fix = _one_error(capsys.readouterr().err)
    assert error == "wattprint: error: config file wattprint.toml is not UTF-8 text (byte 0xe9 on line 1)"
    assert "iconv -f latin1 -t utf-8 wattprint.toml" in fix


def test_a_latin1_carbon_config_flag_file(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_bytes(b'[carbon]\ncountry = "FR"\n' + LATIN1)
    assert main(["carbon", "--kwh", "1", "--carbon-config", str(cfg)]) == 2
    error, _ = _one_error(capsys.readouterr().err)
    assert error.endswith(f"config file {cfg} is not UTF-8 text (byte 0xe9 on line 3)")


@pytest.mark.parametrize("suffix, body", [(".toml", b'name = "sweep"\n'), (".yaml", b"name: sweep\n")])
def test_a_latin1_sweep_plan_is_one_line_and_nothing_is_written(tmp_path, capsys, suffix, body):
    plan = tmp_path / f"plan{suffix}"
    plan.write_bytes(body + LATIN1)
    assert main(["sweep", str(plan), "--store", str(tmp_path / "s.db")]) == 2
    error, fix = _one_error(capsys.readouterr().err)
    assert error == f"wattprint: error: sweep plan {plan} is not UTF-8 text (byte 0xe9 on line 2)"
    assert f"iconv -f latin1 -t utf-8 plan{suffix}" in fix
    assert not (tmp_path / "s.db").exists()


def test_a_latin1_preset_file(tmp_path, capsys):
    preset = tmp_path / "mine.toml"
    preset.write_bytes(b'[preset]\nname = "mine"\n' + LATIN1)
    assert main(["bench", "--preset", str(preset), "--store", str(tmp_path / "w.db")]) == 2
    error, _ = _one_error(capsys.readouterr().err)
    assert error == f"wattprint: error: preset file {preset} is not UTF-8 text (byte 0xe9 on line 3)"


def test_read_text_accepts_a_byte_order_mark_and_refuses_a_folder(tmp_path):
    f = tmp_path / "bom.toml"
    f.write_bytes(b"\xef\xbb\xbfname = 1\n")
    assert read_text(f, "plan") == "name = 1\n"
    with pytest.raises(ConfigError, match="is a folder, not a file"):
        read_text(tmp_path, "config file")
