"""Benchmark presets: readable TOML files in this folder (``quick``, ``paper``, ``aienergyscore``).

A preset file has ``[preset]`` (name, description), ``[defaults]`` (settings for every task) and
optional ``[tasks.<task name>]`` sections; every key is a :class:`~wattprint.bench.settings.BenchSettings`
field. A path to a TOML file of the same shape works wherever a preset name does.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wattprint.bench.settings import BenchSettings, resolve_settings
from wattprint.core.errors import ConfigError, UnknownNameError
from wattprint.core.files import read_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_HERE = Path(__file__).parent


@dataclass(frozen=True)
class Preset:
    """A preset as read from its file. Settings resolve through :meth:`settings_for`."""

    name: str
    description: str
    path: str
    defaults: Mapping[str, Any] = field(default_factory=dict)
    tasks: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def settings_for(self, task: str, overrides: Mapping[str, Any] | None = None) -> BenchSettings:
        """Settings for one task: dataclass defaults < [defaults] < [tasks.<task>] < ``overrides``."""
        return resolve_settings(self.defaults, self.tasks.get(task), overrides)


def preset_names() -> list[str]:
    return sorted(p.stem for p in _HERE.glob("*.toml"))


def load_preset(name_or_path: str) -> Preset:
    """Read a preset by name (a file in this folder) or by path to a TOML file.

    Raises :class:`UnknownNameError` for an unknown name and :class:`ConfigError` for a file that
    does not parse or names a setting that does not exist.
    """
    path = Path(name_or_path)
    if not (path.suffix == ".toml" and path.is_file()):
        path = _HERE / f"{name_or_path}.toml"
        if not path.is_file():
            raise UnknownNameError("preset", name_or_path, preset_names(), fix="or give a path to a .toml file")
    try:
        data = tomllib.loads(read_text(path, "preset file"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"preset file {path} does not parse: {e}") from e
    head = data.get("preset", {})
    unknown = set(data) - {"preset", "defaults", "tasks"}
    if unknown:
        raise ConfigError(f"preset file {path}: unknown sections {sorted(unknown)}",
                          fix="use [preset], [defaults] and [tasks.<name>]")
    preset = Preset(
        name=head.get("name", path.stem),
        description=head.get("description", ""),
        path=str(path),
        defaults=dict(data.get("defaults", {})),
        tasks={k: dict(v) for k, v in data.get("tasks", {}).items()},
    )
    preset.settings_for("")  # validate the defaults now, not in the middle of a run
    for task in preset.tasks:
        preset.settings_for(task)
    return preset


__all__ = ["Preset", "load_preset", "preset_names"]
