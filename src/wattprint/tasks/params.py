"""Task parameters: each task declares the protocol parameters its ``run_batch`` (or its loader) reads.

A :class:`Param` gives a parameter's name, type, allowed values, default and one line of help; a task lists
its own in ``Task.param_specs``, and :func:`check_params` validates a mapping of them (from a preset's
``params = {...}``, a ``--param`` flag or a short flag such as ``--max-new-tokens``) before anything runs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from wattprint.core.errors import ConfigError, UnknownNameError

KINDS = ("int", "float", "bool", "str", "size")  # size: [width, height] in whole pixels


@dataclass(frozen=True)
class Param:
    """One parameter a task reads. ``optional`` allows None (the task's or model's own value);
    ``at_most`` names a parameter this one may not exceed (min_new_tokens <= max_new_tokens);
    ``load`` marks one the model's loader reads (image size, steps, safety checker); ``per_dataset`` lets the
    value be a table by dataset name ({c4 = 20, oscar = 20}), each entry checked as the value would be."""

    name: str
    kind: str
    default: Any
    help: str
    minimum: float | None = None
    choices: tuple[Any, ...] = ()
    optional: bool = False
    at_most: str | None = None
    load: bool = False
    per_dataset: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Param {self.name}: kind {self.kind!r} is not one of {KINDS}")

    def describe(self) -> str:
        """The allowed values in words: "a whole number >= 1, or none", "one of: own, study"."""
        if self.choices:
            text = "one of: " + ", ".join(str(c) for c in self.choices)
        elif self.kind == "bool":
            text = "true or false"
        elif self.kind == "int":
            text = "a whole number" + (f" >= {self.minimum:g}" if self.minimum is not None else "")
        elif self.kind == "float":
            text = "a finite number" + (f" >= {self.minimum:g}" if self.minimum is not None else "")
        elif self.kind == "size":
            text = "[width, height] in whole pixels >= 1"
        else:
            text = "text"
        text += ", or none" if self.optional else ""
        return text + (", or a table of those by dataset name" if self.per_dataset else "")

    def check(self, task: str, value: Any) -> Any:
        """``value`` as this parameter takes it (an int given for a float becomes a float); ConfigError otherwise."""
        if value is None and self.optional:
            return None
        if self.per_dataset and isinstance(value, Mapping):
            return {str(k): self.check(task, v) for k, v in value.items()}
        checked = self._typed(value)
        if checked is None or (self.choices and checked not in self.choices) or self._below_minimum(checked):
            raise ConfigError(f"{task} parameter {self.name} = {value!r} is not {self.describe()}",
                              fix=f"set {self.name} to {self.describe()} ({self.help})")
        return checked

    def _typed(self, value: Any) -> Any:
        """The value in this parameter's type, or None when it is not of it (bool is no number here)."""
        if self.kind == "bool":
            return value if isinstance(value, bool) else None
        if isinstance(value, bool):
            return None
        if self.kind == "int":
            ok = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
            return int(value) if ok else None
        if self.kind == "float":
            ok = isinstance(value, (int, float)) and math.isfinite(value)
            return float(value) if ok else None
        if self.kind == "size":
            ok = isinstance(value, (list, tuple)) and len(value) == 2 and all(
                isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value)
            return [int(v) for v in value] if ok else None
        return value if isinstance(value, str) else None

    def _below_minimum(self, value: Any) -> bool:
        return self.minimum is not None and value < self.minimum


def count(name: str, default: int | None, help: str, **kw: Any) -> Param:
    """A whole number >= 1 (tokens, steps, pixels, words)."""
    return Param(name, "int", default, help, minimum=1, **kw)


def choice(name: str, default: str, choices: tuple[str, ...], help: str) -> Param:
    return Param(name, "str", default, help, choices=choices)


def flag(name: str, default: bool, help: str, **kw: Any) -> Param:
    return Param(name, "bool", default, help, **kw)


def defaults(specs: Iterable[Param]) -> dict[str, Any]:
    return {p.name: p.default for p in specs}


def check_params(task: str, specs: Iterable[Param], params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` checked against the task's declarations: known names, values of the declared type and range,
    and each ``at_most`` bound (with the defaults filling what ``params`` leaves out). Returns them typed."""
    by_name = {p.name: p for p in specs}
    out: dict[str, Any] = {}
    for name, value in params.items():
        if name not in by_name:
            known = sorted(by_name)
            raise UnknownNameError(f"parameter of task {task}", name, known,
                                   fix=f"{task} takes: {', '.join(known) or 'no parameters'} "
                                       "(`wattprint tasks --params` lists them)")
        out[name] = by_name[name].check(task, value)
    merged = {**defaults(by_name.values()), **out}
    for p in by_name.values():
        low, high = merged.get(p.name), merged.get(p.at_most) if p.at_most else None
        if isinstance(low, Mapping) or isinstance(high, Mapping):  # per-dataset tables: bounded at run time
            continue
        if low is not None and high is not None and low > high:
            raise ConfigError(f"{task} parameter {p.name} = {low} exceeds {p.at_most} = {high}",
                              fix=f"set {p.name} to at most {p.at_most}, or raise {p.at_most}")
    return out


__all__ = ["Param", "check_params", "choice", "count", "defaults", "flag"]
