"""The steps of a job before its measured repeats: load (measured), build inputs, warm up (not counted).

:class:`JobContext` carries what these steps produce (the loaded model, the batches, the FLOPs of a
warm-up batch) to the runner's repeats, and fills the fields every record of the job shares.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wattprint.bench.plan import Job, is_outside_model
from wattprint.bench.progress import Progress
from wattprint.bench.record import RunRecord
from wattprint.bench.settings import BenchSettings
from wattprint.bench.windows import OpenWindow
from wattprint.core.errors import WattprintError


def failure_types() -> tuple[type[BaseException], ...]:
    """The errors that fail one job but not the benchmark: cannot load, out of memory, a clear wattprint error.

    OSError (missing files, no network), ValueError (a config the library refuses), ImportError (an
    optional library missing), MemoryError and torch's CUDA out-of-memory error. Anything else is a bug
    and stops the run with its traceback.
    """
    types: list[type[BaseException]] = [OSError, ValueError, ImportError, MemoryError, WattprintError]
    try:
        import torch

        types.append(torch.cuda.OutOfMemoryError)
    except ImportError:
        pass
    return tuple(types)


@dataclass
class JobContext:
    job: Job
    settings: BenchSettings
    store: Any
    on_record: Callable[[RunRecord], None] | None
    progress: Progress
    carbon: Any
    location: Any
    environment: dict[str, Any]
    sync: Callable[[], None]
    meter: Any = None
    task: Any = None
    entry: Any = None
    loaded: Any = None
    inputs: Any = None
    batches: list[list[Any]] = field(default_factory=list)
    load_energy_j: float | None = None
    load_duration_s: float | None = None
    flops_per_inference: float | None = None
    flops_method: str | None = None
    notes: list[str] = field(default_factory=list)  # warnings every record of the job carries

    def fill_static(self, record: RunRecord) -> None:
        """What every record of this job says about the model, its inputs and its loading."""
        record.load_energy_j, record.load_duration_s = self.load_energy_j, self.load_duration_s
        if self.task is not None:
            record.task_version = getattr(self.task, "version", "")
        if self.entry is not None and not isinstance(self.entry, str):
            record.model_kind = getattr(self.entry, "kind", "unknown")
        if self.loaded is not None:
            record.model_source, record.parameters = self.loaded.source, self.loaded.parameters
            record.weights, record.dtype, record.device = self.loaded.weights, self.loaded.dtype, self.loaded.device
        if self.inputs is not None:
            record.dataset, record.workload = self.inputs.dataset, self.inputs.workload
            record.workload_description = self.inputs.description
            record.samples = sum(len(b) for b in self.batches)
        record.warnings.extend(n for n in self.notes if n not in record.warnings)

    def reset_peak_memory(self) -> None:
        if self.settings.device.startswith("cuda"):
            import torch

            torch.cuda.reset_peak_memory_stats(torch.device(self.settings.device))

    def peak_memory(self) -> int | None:
        """Peak bytes torch allocated on the job's GPU during the repeat (None on the CPU)."""
        if not self.settings.device.startswith("cuda"):
            return None
        import torch

        return int(torch.cuda.max_memory_allocated(torch.device(self.settings.device)))

    def score(self, outputs: list[Any]) -> dict[str, float]:
        """The task's quality score, only with real weights and references (random weights score noise)."""
        refs = self.inputs.references if self.inputs is not None else None
        if not refs or self.loaded is None or self.loaded.weights != "pretrained":
            return {}
        return dict(self.task.score(outputs, refs[: len(outputs)]) or {})


def _entry(model: str) -> Any:
    """The catalog entry, or the name itself for a hub id or local folder outside the catalog."""
    from wattprint.models.catalog import get_entry

    if is_outside_model(model):
        try:
            return get_entry(model)
        except WattprintError:
            return model
    return get_entry(model)


def load_model(ctx: JobContext) -> None:
    """Load the model inside its own meter window; the load's energy goes in every record of the job."""
    from wattprint.tasks.base import LoadSettings
    from wattprint.tasks.registry import get_task

    s = ctx.settings
    ctx.task = get_task(ctx.job.task)
    ctx.entry = _entry(ctx.job.model)
    load = LoadSettings(device=s.device, dtype=s.dtype, weights=s.weights, trust_remote_code=s.trust_remote_code,
                        seed=s.seed, overrides=s.load_overrides())
    ctx.progress.stage("loading the model")
    with OpenWindow(ctx.meter, "load", ctx.sync) as window:
        ctx.loaded = ctx.task.load(ctx.entry, load)
        m = window.end()
    ctx.load_energy_j, ctx.load_duration_s = m.total_energy_j, m.duration_s


def make_inputs(ctx: JobContext) -> None:
    """Build the job's inputs (as many as the settings allow; a time budget trims them after warm-up)."""
    s = ctx.settings
    n = s.samples if s.samples is not None else s.max_samples
    spec = ctx.task.dataset(ctx.job.dataset or None)
    ctx.progress.stage(f"building {n} inputs ({s.workload})")
    ctx.inputs = ctx.task.make_inputs(ctx.loaded, spec, s.workload, n, seed=s.seed)
    ctx.batches = _batches(ctx.inputs.items, s.batch_size)


def _batches(items: list[Any], size: int) -> list[list[Any]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def _count_flops(ctx: JobContext, batch: list[Any]) -> float | None:
    """Forward FLOPs of one warm-up batch by torch's FLOP counter (counted ops: matmuls, convolutions...)."""
    from torch.utils.flop_counter import FlopCounterMode

    from wattprint.tasks.base import NullPhases

    with FlopCounterMode(display=False) as counter:
        result = ctx.task.run_batch(ctx.loaded, batch, NullPhases(), ctx.settings.task_params())
    if result.flops is not None:
        ctx.flops_method = "task"
        return result.flops / max(1, result.units.get("inferences", len(batch)))
    ctx.flops_method = "torch.utils.flop_counter (warm-up batch)"
    return counter.get_total_flops() / max(1, result.units.get("inferences", len(batch)))


def warm_up(ctx: JobContext) -> None:
    """Run ``warmup_batches`` batches outside every window; count FLOPs on the first; size a time budget."""
    from wattprint.tasks.base import NullPhases

    s = ctx.settings
    if s.warmup_batches == 0 or not ctx.batches:
        return
    ctx.progress.stage(f"warm-up ({s.warmup_batches} batch(es), not counted)")
    ctx.flops_per_inference = _count_flops(ctx, ctx.batches[0])
    seconds = None
    for i in range(1, s.warmup_batches):
        batch = ctx.batches[i % len(ctx.batches)]
        t0 = time.perf_counter()
        ctx.task.run_batch(ctx.loaded, batch, NullPhases(), s.task_params())
        ctx.sync()
        seconds = (time.perf_counter() - t0) / len(batch)
    if s.samples is None:
        _fit_budget(ctx, seconds)


def _fit_budget(ctx: JobContext, per_input_s: float | None) -> None:
    """Keep as many inputs as fit ``time_budget_s`` (at least ``min_samples``), judged from warm-up."""
    s = ctx.settings
    if per_input_s is None:  # only the FLOP-counting batch ran: time one more, plainly
        from wattprint.tasks.base import NullPhases

        batch = ctx.batches[0]
        t0 = time.perf_counter()
        ctx.task.run_batch(ctx.loaded, batch, NullPhases(), s.task_params())
        ctx.sync()
        per_input_s = (time.perf_counter() - t0) / len(batch)
    fit = math.floor(s.time_budget_s / per_input_s) if per_input_s > 0 else s.max_samples
    n = max(s.min_samples, min(s.max_samples, fit))
    n = min(n, len(ctx.inputs.items))
    n = max(s.batch_size, n - n % s.batch_size) if n >= s.batch_size else n
    ctx.batches = _batches(ctx.inputs.items[:n], s.batch_size)
    ctx.notes.append(
        f"inputs sized to a {s.time_budget_s:g} s budget: {per_input_s:.3g} s per input in warm-up -> {n} inputs"
        f" (min {s.min_samples}, max {s.max_samples})"
    )
