"""Benchmark settings: one frozen dataclass and the one function that resolves it.

Resolution order, lowest first: the dataclass defaults < the preset's ``[defaults]`` < the preset's
``[tasks.<name>]`` section < flags. The resolved settings go with every record (``RunRecord.settings``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from wattprint.core.errors import ConfigError, UnknownNameError

DTYPES = ("float32", "bfloat16", "float16")
WEIGHTS = ("pretrained", "random", "auto")
WORKLOADS = ("dataset", "synthetic", "auto")
MODEL_SELECTIONS = ("smallest", "all", "task-specific", "general-purpose", "study")
COMPONENTS = ("gpu", "cpu", "ram")
SCORES = ("total", "gpu")
PREPROCESS = ("inline", "phase", "arrow")
_DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?|mps)$")


@dataclass(frozen=True)
class BenchSettings:
    """Everything that decides what one benchmark job measures. Units in the names (``_s`` seconds).

    ``samples`` None means "as many as fit ``time_budget_s``" (clamped to ``min_samples`` ..
    ``max_samples``), judged from the warm-up batch. Generation settings (``max_new_tokens``...) are
    ignored by tasks that do not generate. ``shrunk`` explains any reduction a preset applied so that a
    task fits (it is copied into every record's warnings).
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
    max_new_tokens: int | None = None
    min_new_tokens: int | None = None
    num_inference_steps: int | None = None  # None: the model's default
    height: int | None = None
    width: int | None = None
    guidance_scale: float | None = None
    mask_tokens: int | None = None  # fill-mask: masked tokens per input
    safety_checker: bool = False  # image generation: run the pipeline's safety checker where it ships one
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
    shrunk: str | None = None
    # task-specific protocol parameters, each declared by the task that reads it (``Task.default_params``):
    # e.g. {exact_new_tokens = false, prompt_words = 20} for text generation; checked against the task's
    # names when a plan is expanded
    params: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        choices = (("dtype", DTYPES), ("weights", WEIGHTS), ("workload", WORKLOADS), ("models", MODEL_SELECTIONS),
                   ("score", SCORES), ("preprocess", PREPROCESS))
        for name, allowed in choices:
            _check_choice(name, getattr(self, name), allowed)
        for c in self.components:
            _check_choice("component", c, COMPONENTS)
        if not _DEVICE.match(self.device):
            raise ConfigError(f"device {self.device!r} is not one of auto, cpu, cuda, cuda:N, mps")
        self._check_counts()

    def _check_counts(self) -> None:
        for f in fields(self):  # a preset or plan file can say nan or inf: every number must be finite
            v = getattr(self, f.name)
            if isinstance(v, float) and not math.isfinite(v):
                raise ConfigError(f"{f.name} = {v} is not a finite number", fix=f"set {f.name} to a number")
        counts = ("repeats", "batch_size", "datasets", "min_samples", "max_samples", "samples", "max_new_tokens",
                  "min_new_tokens", "num_inference_steps", "height", "width")
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
        if self.max_new_tokens and self.min_new_tokens and self.min_new_tokens > self.max_new_tokens:
            raise ConfigError(f"min_new_tokens {self.min_new_tokens} exceeds max_new_tokens {self.max_new_tokens}")

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
        """The protocol settings a task's ``run_batch`` reads; unset ones are left out."""
        keys = ("max_new_tokens", "min_new_tokens", "num_inference_steps", "height", "width",
                "guidance_scale", "mask_tokens", "seed")
        found = {k: getattr(self, k) for k in keys if getattr(self, k) is not None}
        return {**found, **dict(self.params)}

    def load_overrides(self) -> dict[str, Any]:
        """Size reductions for ``LoadSettings.overrides`` (image size and steps), when set."""
        keys = ("num_inference_steps", "height", "width")
        out: dict[str, Any] = {k: getattr(self, k) for k in keys if getattr(self, k) is not None}
        if self.safety_checker:
            out["safety_checker"] = True
        return out


SETTING_NAMES: tuple[str, ...] = tuple(f.name for f in fields(BenchSettings))
_TUPLES = ("dataset", "components")


def _check_choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise UnknownNameError(name, str(value), allowed, fix=f"use one of: {', '.join(allowed)}")


def _coerce(d: dict[str, Any]) -> dict[str, Any]:
    """Names checked, lists to tuples, "auto" samples to None."""
    for k in d:
        if k not in SETTING_NAMES:
            raise UnknownNameError("setting", k, SETTING_NAMES)
    for k in _TUPLES:
        if k in d and d[k] is not None:
            d[k] = (d[k],) if isinstance(d[k], str) else tuple(d[k])
    if d.get("samples") == "auto":
        d["samples"] = None
    if "params" in d:
        if not isinstance(d["params"], Mapping):
            raise ConfigError(f"params must be a table of task parameters, got {d['params']!r}",
                              fix='e.g. params = {exact_new_tokens = false}')
        d["params"] = tuple(sorted(d["params"].items()))
    return d


def resolve_settings(
    defaults: Mapping[str, Any], task_section: Mapping[str, Any] | None, overrides: Mapping[str, Any] | None
) -> BenchSettings:
    """defaults < preset defaults < preset task section < flags (``None`` flag values are unset)."""
    merged: dict[str, Any] = dict(defaults)
    section = dict(task_section or {})
    if "params" in section and isinstance(merged.get("params"), Mapping):  # a task's params add to the defaults'
        section["params"] = {**merged["params"], **section["params"]}
    merged.update(section)
    merged.update({k: v for k, v in (overrides or {}).items() if v is not None})
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
