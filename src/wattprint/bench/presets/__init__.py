"""Benchmark presets: readable TOML files in this folder (``quick``, ``paper``, ``aienergyscore``).

A preset file has ``[preset]`` (name, description), ``[defaults]`` (settings for every task) and
optional ``[tasks.<task name>]`` sections; every key is a :class:`~wattprint.bench.settings.BenchSettings`
field, and ``params = {...}`` holds task parameters (a task section's are checked against the task's
declarations; the defaults' apply to each task that declares them). A path to a TOML file of the same shape
works wherever a preset name does.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wattprint.bench.settings import SETTING_NAMES, BenchSettings, check_values, resolve_settings
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
        """Settings for one task: dataclass defaults < [defaults] < [tasks.<task>] < ``overrides``. Params of
        [defaults] and ``overrides`` that ``task`` does not declare are left out (no task: all are kept)."""
        return resolve_settings(self.defaults, self.tasks.get(task), overrides, declared_params(task) if task else None)


def declared_params(task: str) -> tuple[str, ...]:
    """The parameter names ``task`` declares (``Task.param_specs``)."""
    from wattprint.tasks.registry import get_task

    return tuple(p.name for p in get_task(task).param_specs)


def check_task_params(task: str, settings: BenchSettings) -> None:
    """``settings.params`` against ``task``'s declarations (ConfigError naming the task and the fix)."""
    from wattprint.tasks.registry import get_task

    get_task(task).check_params(dict(settings.params))


def check_unclaimed(params: Mapping[str, Any], tasks: Sequence[str], where: str) -> None:
    """Each parameter in ``params`` (set by ``where``: the flags, a preset's [defaults]) must be declared by one
    of ``tasks``; one no task takes is an error naming those that do."""
    from wattprint.tasks.registry import task_names

    for name in params:
        if any(name in declared_params(t) for t in tasks):
            continue
        takers = [t for t in task_names() if name in declared_params(t)]
        if takers:
            raise ConfigError(f"{name}, set by {where}, is not a parameter of {', '.join(tasks)}",
                              fix=f"{name} is a parameter of {', '.join(takers)}: add --task {takers[0]}, "
                                  f"or leave {name} out")
        if name in SETTING_NAMES:
            raise ConfigError(f"{name}, set by {where} as a task parameter, is a benchmark setting",
                              fix=f"set {name} with its own flag (`wattprint bench --help`) or outside params")
        known = sorted({n for t in task_names() for n in declared_params(t)})
        mine = sorted({n for t in tasks for n in declared_params(t)})
        listed = f"parameters of {', '.join(tasks)}: {', '.join(mine)}" if len(tasks) <= 3 and mine else \
            "`wattprint tasks --params` lists each task's"
        raise UnknownNameError("task parameter", name, known, fix=listed)


def preset_names() -> list[str]:
    return sorted(p.stem for p in _HERE.glob("*.toml"))


def load_preset(name_or_path: str) -> Preset:
    """Read a preset by name (a file in this folder) or by path to a TOML file.

    Raises :class:`UnknownNameError` for an unknown name and :class:`ConfigError` for a file that
    does not parse or names a setting that does not exist.
    """
    path = Path(name_or_path)
    if not (path.suffix == ".toml" and path.is_file()):
        if name_or_path not in preset_names():  # a shipped name wins over a file or folder of that name here
            _check_preset_path(path)
        path = _HERE / f"{name_or_path}.toml"
        if not path.is_file():
            raise UnknownNameError("preset", name_or_path, preset_names(),
                                   fix=f"name one of {', '.join(preset_names())}, or give the path of a .toml file")
    try:
        data = tomllib.loads(read_text(path, "preset file"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"preset file {path} does not parse: {e}", fix=f"fix the line it names in {path}") from e
    unknown = set(data) - {"preset", "defaults", "tasks"}
    if unknown:
        raise ConfigError(f"preset file {path}: unknown sections {sorted(unknown)}",
                          fix="use [preset], [defaults] and [tasks.<name>]")
    head, defaults = _table(data, "preset", path), _table(data, "defaults", path)
    tasks = {k: _table(v, f"tasks.{k}", path, whole=True) for k, v in _table(data, "tasks", path).items()}
    for key in ("name", "description"):
        if not isinstance(head.get(key, ""), str):
            raise ConfigError(f"preset file {path} [preset]: {key} must be a text in quotes, got {head[key]!r}",
                              fix=f'e.g. {key} = "mine"')
    preset = Preset(name=head.get("name", path.stem), description=head.get("description", ""), path=str(path),
                    defaults=defaults, tasks=tasks)
    _validate(preset, path)
    return preset


def _check_preset_path(path: Path) -> None:
    """A --preset that is meant as a file (a .toml name, a folder, a path with a separator) and is not one:
    said as such, not as an unknown preset name."""
    if path.is_dir():
        raise ConfigError(f"preset {path} is a folder, not a preset file",
                          f"give a .toml file, e.g. {path / 'my.toml'}")
    if path.is_file():
        raise ConfigError(f"preset file {path} is not a .toml file", "give a preset file ending in .toml")
    if path.suffix == ".toml" or len(path.parts) > 1:
        raise ConfigError(f"preset file {path} does not exist",
                          f"check the path, or name a shipped preset: {', '.join(preset_names())}")


def _table(data: Any, key: str, path: Path, whole: bool = False) -> dict[str, Any]:
    """``data[key]`` (``data`` itself when ``whole``), which must be a TOML table; missing: an empty one."""
    value = data if whole else data.get(key, {})
    if not isinstance(value, dict):
        section, line = {"preset": ("preset", 'name = "mine"'), "tasks": ("tasks.text-classification", "repeats = 3")
                         }.get(key, (key, "repeats = 3"))
        raise ConfigError(f"preset file {path}: {key} must be a table, got {value!r}",
                          fix=f"write a section [{section}] followed by lines such as {line}")
    return dict(value)


@contextlib.contextmanager
def _section(path: Path, section: str) -> Iterator[None]:
    """A setting refused while the file is checked names the file and its section, and says how to fix it."""
    try:
        yield
    except ConfigError as e:
        e.message = f"preset file {path} [{section}]: {e.message}"
        e.fix = e.fix or f"edit [{section}] in {path}"
        e.args = (e.message,)
        raise


def _validate(preset: Preset, path: Path) -> None:
    """Every setting and task parameter of the file checked now, not in the middle of a run."""
    from wattprint.tasks.registry import task_names

    with _section(path, "defaults"):
        defaults = preset.settings_for("")
    check_unclaimed(dict(defaults.params), task_names(), f"preset file {path} [defaults]")
    for task in preset.tasks:
        if task not in task_names():
            raise UnknownNameError(f"task section in {path}", task, task_names(),
                                   fix="name a section [tasks.<task>] after a task `wattprint tasks` lists")
        with _section(path, f"tasks.{task}"):
            check_values(preset.tasks[task])  # each value alone first: its error names this section
    for task in task_names():  # [defaults] params reach every task that declares them
        with _section(path, f"tasks.{task}" if task in preset.tasks else "defaults"):
            settings = preset.settings_for(task)
        check_task_params(task, settings)


__all__ = ["Preset", "load_preset", "preset_names"]
