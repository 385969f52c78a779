"""Benchmark settings: one frozen dataclass and the one function that resolves it.

Resolution order, lowest first: the dataclass defaults < the preset's ``[defaults]`` < the preset's
``[tasks.<name>]`` section < flags. The resolved settings go with every record (``RunRecord.settings``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

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
        for f in fields(self):  # a preset or plan file can say nan or inf: every number must be finite
            v = getattr(self, f.name)
            if isinstance(v, float) and not math.isfinite(v):
                raise ConfigError(f"{f.name} = {v} is not a finite number", fix=f"set {f.name} to a number")
        counts = ("repeats", "batch_size", "datasets", "min_samples", "max_samples", "samples")
        for name in counts:
            v = getattr(self, name)
            if v is not None and v < 1:
                raise ConfigError(f"{name} must be at least 1, got {v}")
        if self.warmup_batches < 0 or self.idle_seconds < 0:
            raise ConfigError("warmup_batches and idle_seconds cannot be negative")
        if self.samples is None and not self.time_budget_s:
            raise ConfigError("samples = \"auto\" needs time_budget_s", fix="set time_budget_s or a number of samples")
        if self.samples is None and self.warmup_batches < 1:
            raise ConfigError("samples = \"auto\" is sized from a warm-up batch", fix="set warmup_batches to 1 or more")
        if self.min_samples > self.max_samples:
            raise ConfigError(f"min_samples {self.min_samples} exceeds max_samples {self.max_samples}")

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
    for k in d:
        if k not in SETTING_NAMES:
            raise UnknownNameError("setting", k, SETTING_NAMES, fix=_param_hint(k))
    for k in _TUPLES:
        if k in d and d[k] is not None:
            d[k] = (d[k],) if isinstance(d[k], str) else tuple(d[k])
    if d.get("samples") == "auto":
        d["samples"] = None
    if "params" in d:  # an unset (None) parameter takes the task's default: it is left out
        d["params"] = tuple(sorted((k, v) for k, v in _params_table(d["params"]).items() if v is not None))
    return d


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


__all__ = ["BenchSettings", "resolve_settings", "resolve_device", "settings_with", "SETTING_NAMES"]
