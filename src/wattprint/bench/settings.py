"""Benchmark settings: one frozen dataclass and the one function that resolves it.

Resolution order, lowest first: the dataclass defaults < the preset's ``[defaults]`` < the preset's
``[tasks.<name>]`` section < flags. The resolved settings go with every record (``RunRecord.settings``).
"""

from __future__ import annotations

import math
import re
import typing
from collections.abc import Callable, Collection, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from wattprint.core.config import MAX_IDLE_S
from wattprint.core.errors import ConfigError, UnknownNameError
from wattprint.store.record import migrate_settings

DTYPES = ("float32", "bfloat16", "float16")
WEIGHTS = ("pretrained", "random", "auto")
WORKLOADS = ("dataset", "synthetic", "auto")
MODEL_SELECTIONS = ("smallest", "all", "task-specific", "general-purpose", "study")
COMPONENTS = ("gpu", "cpu", "ram")
SCORES = ("total", "gpu")
PREPROCESS = ("inline", "phase", "arrow")
DRIVERS = ("direct", "pipeline")
_DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?|mps)$")
MAX_SAMPLES = 1_000_000  # inputs per dataset: more is a typo that would spend hours building inputs
MAX_SEED = 2**63 - 1  # torch and numpy take a seed as a signed 64-bit number


@dataclass(frozen=True)
class BenchSettings:
    """Everything that decides what one benchmark job measures. Units in the names (``_s`` seconds).

    ``samples`` None means "as many as fit ``time_budget_s``" (clamped to ``min_samples`` ..
    ``max_samples``), judged from the warm-up batch. What only one task reads (new tokens, denoising steps,
    image size...) is a task parameter in ``params``, declared by that task (``Task.param_specs``). ``shrunk``
    explains any reduction a preset applied so that a task fits (it is copied into every record's warnings).
    """

    samples: int | None = 1000
    time_budget_s: float | None = None
    min_samples: int = 3
    max_samples: int = 1000
    repeats: int = 10
    batch_size: int = 1
    warmup_batches: int = 1
    datasets: int = 1  # how many of the task's standard datasets, in its order
    dataset: tuple[str, ...] = ()  # explicit dataset names (override ``datasets``)
    models: str = "smallest"  # which catalog models when none is named
    dtype: str = "float32"
    device: str = "auto"
    weights: str = "auto"
    workload: str = "auto"
    trust_remote_code: bool = False
    seed: int = 0
    idle_seconds: float = 0.0
    batch_windows: bool = False  # a meter window per batch too (energy per batch), not only per repeat
    components: tuple[str, ...] = COMPONENTS
    score: str = "total"  # which energy is the headline score
    # "inline": each batch is tokenized/processed inside the measured inference window, as a pipeline call
    # does; "phase": the whole job's inputs are processed first in a measured "preprocess" window, which
    # the score then adds to the inference window; "arrow": "phase", with the prepared inputs written to an
    # Arrow file in that window and read back from it batch by batch inside the repeats (the AI Energy Score
    # protocol's data path; needs the datasets extra, else as "phase" with a note)
    preprocess: str = "inline"
    # "direct": the task drives the model (tokenizer + forward/generate); "pipeline": each batch is one
    # transformers pipeline call where one fits the task (wattprint.tasks._pipeline), else direct, recorded
    driver: str = "direct"
    shrunk: str | None = None
    # task-specific protocol parameters, each declared by the task that reads it (``Task.param_specs``):
    # e.g. {max_new_tokens = 10, exact_new_tokens = false} for text generation; only those set (the task's
    # defaults fill the rest), checked against the task's declarations when a preset loads and a plan expands
    params: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        for f in fields(self):  # each value's type and range first: the checks below rely on them
            _check_value(f.name, getattr(self, f.name))
        choices = (("dtype", DTYPES), ("weights", WEIGHTS), ("workload", WORKLOADS), ("models", MODEL_SELECTIONS),
                   ("score", SCORES), ("preprocess", PREPROCESS), ("driver", DRIVERS))
        for name, allowed in choices:
            _check_choice(name, getattr(self, name), allowed)
        for c in self.components:
            _check_choice("component", c, COMPONENTS)
        if not _DEVICE.match(self.device):
            raise ConfigError(f"device {self.device!r} is not one of auto, cpu, cuda, cuda:N, mps"
                              + _device_hint(str(self.device)), fix="use auto, cpu, cuda (cuda:N for one of "
                              "several NVIDIA GPUs) or mps (an Apple GPU)")
        self._check_counts()

    def _check_counts(self) -> None:
        if self.samples is None and not self.time_budget_s:
            raise ConfigError("samples = \"auto\" needs time_budget_s", fix="set time_budget_s or a number of samples")
        if self.samples is None and self.warmup_batches < 1:
            raise ConfigError("samples = \"auto\" is sized from a warm-up batch", fix="set warmup_batches to 1 or more")
        if self.min_samples > self.max_samples:
            raise ConfigError(f"min_samples {self.min_samples} exceeds max_samples {self.max_samples}",
                              fix="lower min_samples or raise max_samples")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["dataset"] = list(self.dataset)
        d["components"] = list(self.components)
        d["params"] = dict(self.params)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> BenchSettings:
        return cls(**_coerce(dict(d)))

    def task_params(self) -> dict[str, Any]:
        """What a task's ``run_batch`` is given: the params set, and the seed (for seeded sampling)."""
        return {"seed": self.seed, **dict(self.params)}


SETTING_NAMES: tuple[str, ...] = tuple(f.name for f in fields(BenchSettings))
_TUPLES = ("dataset", "components")
_HINTS = typing.get_type_hints(BenchSettings)
# (least, most, least excluded) of each number setting that has bounds
_RANGES: dict[str, tuple[int, int | float | None, bool]] = {
    "samples": (1, MAX_SAMPLES, False), "min_samples": (1, MAX_SAMPLES, False), "max_samples": (1, MAX_SAMPLES, False),
    "repeats": (1, None, False), "batch_size": (1, None, False), "datasets": (1, None, False),
    "warmup_batches": (0, None, False), "seed": (0, MAX_SEED, False), "idle_seconds": (0, MAX_IDLE_S, False),
    "time_budget_s": (0, None, True),
}
_EXAMPLES = {"time_budget_s": "30", "shrunk": '"why"'}  # settings whose default (None) makes no example


def _toml(value: Any) -> str:
    """A value as a preset file writes it: 3, true, "text", ["a", "b"]."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _kind(hint: Any) -> tuple[Callable[[Any], bool], str]:
    """A check of a value against a field's type, and what that type is in words."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if type(None) in typing.get_args(hint):  # X | None: None means unset
        check, words = _kind(args[0])
        return (lambda v: v is None or check(v)), words
    if hint is bool:
        return (lambda v: isinstance(v, bool)), "true or false"
    if hint is int:
        return (lambda v: isinstance(v, int) and not isinstance(v, bool)), "a whole number"
    if hint is float:
        return (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)), "a number"
    if hint is str:
        return (lambda v: isinstance(v, str)), "a text in quotes"
    if typing.get_origin(hint) is tuple and args[0] is str:  # tuple[str, ...]: one name or a list of names
        return (lambda v: isinstance(v, str) or isinstance(v, (tuple, list)) and all(isinstance(x, str) for x in v)), \
            "a list of names"
    return (lambda v: True), "any value"  # params: checked as a table by _params_table


def _check_value(name: str, value: Any) -> None:
    """One setting's type and range, alone: ConfigError naming it, what it must be and an example."""
    check, words = _kind(_HINTS[name])
    if name == "samples":  # "auto" (a plan's, not yet read as None): as many as fit time_budget_s
        if value == "auto":
            return
        words = 'a whole number or "auto"'
    default = next(f.default for f in fields(BenchSettings) if f.name == name)
    example = f"e.g. {name} = {_EXAMPLES.get(name) or _toml(default)}"
    if not check(value):
        raise ConfigError(f"{name} must be {words}, got {value!r}", fix=example)
    if isinstance(value, float) and not math.isfinite(value):  # a preset or plan file can say nan or inf
        raise ConfigError(f"{name} = {value} is not a finite number", fix=f"set {name} to a number")
    if name not in _RANGES or not isinstance(value, (int, float)):
        return
    least, most, excluded = _RANGES[name]
    if value < least or excluded and value == least:
        raise ConfigError(f"{name} must be {'above' if excluded else 'at least'} {_toml(least)}, got {_toml(value)}",
                          fix=example)
    if most is not None and value > most:
        raise ConfigError(f"{name} must be at most {_toml(most)}, got {_toml(value)}", fix=example)


def check_values(values: Mapping[str, Any]) -> None:
    """Each setting in ``values`` (a sweep plan's) known, of its type and in its range, alone: what the
    settings of a whole job (:class:`BenchSettings`) check together is left to them."""
    d = migrate_settings(values)
    _check_names(d)
    for k, v in d.items():
        _check_value(k, v)
    _params_table(d.get("params"))


# what people write for a device that torch names otherwise
_DEVICE_WORDS = {"gpu": "cuda", "nvidia": "cuda", "cuda0": "cuda:0", "apple": "mps", "metal": "mps"}


def _device_hint(device: str) -> str:
    """``"; did you mean 'cuda'?"`` for gpu, gpu:1, Cuda...; close matches otherwise; or ``""``."""
    from wattprint.core.errors import close_matches

    name, colon, index = device.strip().lower().partition(":")
    if name in _DEVICE_WORDS or name in ("cuda", "cpu", "mps", "auto"):
        guess = _DEVICE_WORDS.get(name, name) + (f":{index}" if colon and index.isdigit() else "")
        hits = [guess] if _DEVICE.match(guess) else []
    else:
        hits = close_matches(name, ("auto", "cpu", "cuda", "mps"))
    return f"; did you mean {', '.join(repr(h) for h in hits)}?" if hits else ""


def _check_choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise UnknownNameError(name, str(value), allowed, fix=f"use one of: {', '.join(allowed)}")


def _coerce(d: dict[str, Any]) -> dict[str, Any]:
    """Legacy keys moved into params, names checked, lists to tuples, "auto" samples to None."""
    d = migrate_settings(d)
    _check_names(d)
    for k in _TUPLES:  # anything else is left for the type check to name
        if isinstance(d.get(k), (str, list)):
            d[k] = (d[k],) if isinstance(d[k], str) else tuple(d[k])
    if d.get("samples") == "auto":
        d["samples"] = None
    if "params" in d:  # an unset (None) parameter takes the task's default: it is left out
        d["params"] = tuple(sorted((k, v) for k, v in _params_table(d["params"]).items() if v is not None))
    return d


def _check_names(d: Mapping[str, Any]) -> None:
    for k in d:
        if k not in SETTING_NAMES:
            raise UnknownNameError("setting", k, SETTING_NAMES,
                                   fix=_param_hint(k) or f"use one of: {', '.join(SETTING_NAMES)}")


def _params_table(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"params must be a table of task parameters, got {value!r}",
                          fix="e.g. params = {exact_new_tokens = false}")
    return dict(value)


def _param_hint(name: str) -> str | None:
    """For a setting name that is some task's parameter: how to set it as one."""
    from wattprint.tasks.registry import get_task, task_names

    takers = [t for t in task_names() if name in get_task(t).default_params()]
    if not takers:
        return None
    return f"{name} is a parameter of {', '.join(takers)}: write params = {{{name} = ...}}"


def _declared_only(params: Any, declared: Collection[str] | None) -> dict[str, Any]:
    table = _params_table(params)
    return table if declared is None else {k: v for k, v in table.items() if k in declared}


def resolve_settings(
    defaults: Mapping[str, Any], task_section: Mapping[str, Any] | None, overrides: Mapping[str, Any] | None,
    declared: Collection[str] | None = None,
) -> BenchSettings:
    """defaults < preset defaults < preset task section < flags (``None`` flag values are unset).

    ``params`` merge the same way, by name. The preset defaults' and the flags' params apply to a task that
    declares them (``declared``: its parameter names; None keeps them all), as one flag serves several tasks;
    the task section's are the task's own and are kept whole, so a wrong name there is reported. A parameter
    set to None goes back to the task's default."""
    base, section = migrate_settings(defaults), migrate_settings(task_section or {})
    flags = migrate_settings({k: v for k, v in (overrides or {}).items() if v is not None})
    params = {**_declared_only(base.get("params"), declared), **_params_table(section.get("params")),
              **_declared_only(flags.get("params"), declared)}
    merged = {**base, **section, **flags, "params": params}
    return BenchSettings.from_dict(merged)


def resolve_device(device: str) -> str:
    """"auto" becomes "cuda" when torch sees a GPU, else "cpu". Imports torch (only here)."""
    if device != "auto":
        return device
    try:
        import torch
    except ImportError:
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


def settings_with(settings: BenchSettings, **changes: Any) -> BenchSettings:
    d = settings.to_dict()
    d.update(changes)
    return BenchSettings.from_dict(d)


__all__ = ["BenchSettings", "resolve_settings", "resolve_device", "settings_with", "check_values",
           "SETTING_NAMES", "MAX_SAMPLES", "MAX_SEED"]
