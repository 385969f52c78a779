"""The steps of a job before its measured repeats: load (measured), build inputs, warm up (not counted).

:class:`JobContext` carries what these steps produce (the loaded model, the batches, the FLOPs of a
warm-up batch) to the runner's repeats, and fills the fields every record of the job shares.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from wattprint.bench.arrow_inputs import ARROW_NOTE
from wattprint.bench.plan import Job
from wattprint.bench.progress import Progress
from wattprint.bench.settings import BenchSettings
from wattprint.bench.windows import OpenWindow, energy_by_kind
from wattprint.core.errors import WattprintError
from wattprint.store.record import RunRecord


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


def is_job_failure(e: BaseException) -> bool:
    """One of :func:`failure_types`, or torch's CPU allocator running out of memory (a plain RuntimeError
    whose message says so: torch has no type for it)."""
    if isinstance(e, failure_types()):
        return True
    text = str(e)
    return isinstance(e, RuntimeError) and ("can't allocate memory" in text or "out of memory" in text.lower())


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
    settle: bool = False  # end each repeat window with the counter reading after it (GPU jobs)
    task: Any = None
    entry: Any = None
    loaded: Any = None
    inputs: Any = None
    batches: list[list[Any]] = field(default_factory=list)
    load_energy_j: float | None = None
    load_duration_s: float | None = None
    # what task.prepare made of each batch (preprocess = "phase"; "arrow": an ArrowInputs read back per batch)
    prepared: Sequence[Any] | None = None
    preprocess: Any = None  # the preprocess window's Measurement
    flops_per_inference: float | None = None
    flops_method: str | None = None
    notes: list[str] = field(default_factory=list)  # warnings every record of the job carries
    committed: str | None = None  # run_id of the last record whose final state reached the store
    live: Any = None  # an Electricity Maps client when live intensity was asked for

    def fill_static(self, record: RunRecord) -> None:
        """What every record of this job says about the model, its inputs and its loading."""
        record.load_energy_j, record.load_duration_s = self.load_energy_j, self.load_duration_s
        if self.preprocess is not None:
            m = self.preprocess
            record.preprocess_energy_j, record.preprocess_duration_s = m.total_energy_j, m.duration_s
            kinds = energy_by_kind(m)
            record.preprocess_gpu_energy_j, record.preprocess_cpu_energy_j = kinds["gpu"], kinds["cpu"]
            record.preprocess_ram_energy_j = kinds["ram"]
        if self.task is not None:
            record.task_version = getattr(self.task, "version", "")
        if self.entry is not None:
            record.model_kind = self.entry.kind
        if self.loaded is not None:
            record.model_source, record.parameters = self.loaded.source, self.loaded.parameters
            record.weights, record.dtype, record.device = self.loaded.weights, self.loaded.dtype, self.loaded.device
            record.safety_checker = self.loaded.extra.get("safety_checker")
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
        if not refs or self.loaded is None:
            return {}
        if not self.loaded.extra.get("scorable", self.loaded.weights == "pretrained"):
            return {}
        return dict(self.task.score(outputs, refs[: len(outputs)]) or {})


def _entry(model: str, task: str) -> Any:
    """The catalog entry, or an ad-hoc one for a hub id or local folder outside the catalog."""
    from wattprint.models.catalog import get_entry

    return get_entry(model, task=task)


def load_model(ctx: JobContext) -> None:
    """Load the model inside its own meter window; the load's energy goes in every record of the job."""
    from wattprint.tasks.base import LoadSettings
    from wattprint.tasks.registry import get_task

    s = ctx.settings
    ctx.task = get_task(ctx.job.task)
    ctx.entry = _entry(ctx.job.model, ctx.job.task)
    at_load = {p.name for p in ctx.task.param_specs if p.load}  # image size, steps, safety checker
    load = LoadSettings(device=s.device, dtype=s.dtype, weights=s.weights, trust_remote_code=s.trust_remote_code,
                        seed=s.seed, params={k: v for k, v in s.params if k in at_load})
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
    ctx.loaded.extra["task_params"] = s.task_params()  # for tasks whose inputs depend on a param (fill-mask)
    ctx.inputs = ctx.task.make_inputs(ctx.loaded, spec, s.workload, n, seed=s.seed)
    ctx.batches = _batches(ctx.inputs.items, s.batch_size)


def _batches(items: list[Any], size: int) -> list[list[Any]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def _count_flops(ctx: JobContext, batch: list[Any]) -> None:
    """Forward FLOPs per inference from one warm-up batch under torch's FLOP counter (the task runs it)."""
    flops, how = ctx.task.count_flops(ctx.loaded, batch, ctx.settings.task_params())
    ctx.sync()
    if flops is not None:
        ctx.flops_per_inference = flops / max(1, len(batch))
        ctx.flops_method = f"{how} (torch.utils.flop_counter, one warm-up batch)"
    else:
        ctx.notes.append(f"FLOPs {how}")


QUICK_BATCH_S = 0.5  # a FLOP-counted warm-up batch faster than this gets a plain, timed companion
# A GPU's first batches after load run several times slower than later ones (kernels loaded on first use,
# clocks ramping up; 0.64 s against 0.045 s per input for distilgpt2 on an H200), so warm-up goes on past
# ``warmup_batches`` while a batch is still SETTLE_RATIO faster than the one before, up to SETTLE_MAX_S.
SETTLE_RATIO = 0.9
SETTLE_MAX_S = 30.0
# The first call with a new input shape is slow on a GPU too (0.37 s per input against 0.034 s once seen, for
# distilgpt2 on an H200): a job sized to a time budget runs one pass over its inputs before the repeats, so
# that every repeat measures the same warm state, and is re-sized from that pass when it ran under
# RESIZE_RATIO x the warm-up's time (its new inputs then get their own pass); at most WARM_PASS_MAX_S.
RESIZE_RATIO = 0.5
WARM_PASS_MAX_S = 60.0


def warm_up(ctx: JobContext) -> None:
    """Run ``warmup_batches`` batches outside every window (the first under the FLOP counter), then more
    while the time per input is still falling; when the settings give a time budget, size the inputs from
    the last two warm-up batches' best time."""
    s = ctx.settings
    if s.warmup_batches == 0 or not ctx.batches:
        return
    ctx.progress.stage(f"warm-up ({s.warmup_batches} batch(es), not counted)")
    t0 = time.perf_counter()
    _count_flops(ctx, ctx.batches[0])
    # the FLOP counter slows a batch down (several times for small models): a budget sized from it errs
    # on the side of fewer inputs, so where that batch was quick one plain batch is timed as well
    per_input_s = (time.perf_counter() - t0) / len(ctx.batches[0])
    extra = 1 if s.samples is None and s.warmup_batches == 1 and per_input_s < QUICK_BATCH_S else 0
    times = [_warm_batch(ctx, i) for i in range(1, s.warmup_batches + extra)]
    times = _settle(ctx, times, len(times) + 1)
    if times:
        per_input_s = min(times[-2:])
    if s.samples is None:
        _fit_budget(ctx, per_input_s)
        per_input_s = _warm_pass(ctx, per_input_s)
        if s.preprocess == "arrow":
            _arrow_trial(ctx, per_input_s)


def _warm_pass(ctx: JobContext, per_input_s: float) -> float:
    """One pass over every input of a budget-sized job (see ``RESIZE_RATIO``), then a timed one (at most the
    budget); re-sized when that ran faster than warm-up. Returns the seconds per input the size rests on."""
    t_end = time.perf_counter() + WARM_PASS_MAX_S
    seen = len(ctx.batches)
    _pass(ctx, ctx.batches, t_end)  # every input seen once
    budget_end = min(t_end, time.perf_counter() + (ctx.settings.time_budget_s or 0.0))
    warm_s = _pass(ctx, ctx.batches, budget_end, timed=True)  # then timed warm, for at most the budget
    if warm_s is None or warm_s >= RESIZE_RATIO * per_input_s:
        return per_input_s
    _fit_budget(ctx, warm_s, basis="a warm pass over the inputs")
    _pass(ctx, ctx.batches[seen:], t_end)
    return warm_s


# With ``preprocess = "arrow"`` each repeat reads every input back from an Arrow file before the model call; for
# images that read costs several times the forward pass (a 3x224x224 row is 672 nested lists for datasets' torch
# formatter), so a size fitted to warm-up's in-memory calls would make each repeat several times the budget.
ARROW_TRIAL_S = 2.0  # at most this long (and at most ARROW_TRIAL_BATCHES batches) timing reads + model calls
ARROW_TRIAL_BATCHES = 16
ARROW_RESIZE_RATIO = 1.25  # re-sized only when the reads make an input this much slower than warm-up timed it
# rows smaller than this (tokens of a text) read back in well under a millisecond: no trial for them
ARROW_TRIAL_MIN_ELEMENTS = 65_536


def _arrow_trial(ctx: JobContext, per_input_s: float) -> None:
    """Time a few batches as the repeats run them (prepared, written to an Arrow file, read back, model call),
    outside every window, and shrink the inputs to the budget when that is clearly slower than ``per_input_s``."""
    from wattprint.bench.arrow_inputs import ArrowInputs, available, split

    if not getattr(ctx.task, "separable_preprocess", False) or not available() or not ctx.batches:
        return
    params = ctx.settings.task_params()
    t0 = time.perf_counter()
    first = ctx.task.prepare(ctx.loaded, ctx.batches[0], params)
    tensors: dict[str, Any] = {}
    split(first, tensors)
    if sum(int(a.size) for a in tensors.values()) < ARROW_TRIAL_MIN_ELEMENTS:
        return
    batches: list[list[Any]] = []
    for batch in ctx.batches[:ARROW_TRIAL_BATCHES]:  # a few, as many as warm-up's time per input allows
        batches.append(batch)
        if (len(batches) + 1) * len(batch) * per_input_s > ARROW_TRIAL_S / 2:
            break
    rows = ArrowInputs([first] + [ctx.task.prepare(ctx.loaded, b, params) for b in batches[1:]])
    for i in range(len(rows)):  # the first pass warms the reads (and the file's pages)
        _run_row(ctx, rows, i, params)
    done, start = 0, time.perf_counter()
    for i in range(len(rows)):  # the second is timed, cut at the trial's time limit
        if i and time.perf_counter() - t0 > ARROW_TRIAL_S:
            break
        _run_row(ctx, rows, i, params)
        done += len(batches[i])
    per_read_s = (time.perf_counter() - start) / done
    if per_read_s > ARROW_RESIZE_RATIO * per_input_s:
        _fit_budget(ctx, per_read_s, basis="inputs read back from an Arrow file, as the repeats read them")


def _run_row(ctx: JobContext, rows: Any, i: int, params: dict[str, Any]) -> None:
    from wattprint.tasks.base import NullPhases

    ctx.task.run_prepared(ctx.loaded, rows[i], NullPhases(), params)
    ctx.sync()


def _pass(ctx: JobContext, batches: list[list[Any]], t_end: float, timed: bool = False) -> float | None:
    """Run ``batches`` outside every window until ``t_end``; seconds per input, None when none ran. A
    ``timed`` pass only times inputs already seen, so stopping it early leaves nothing cold."""
    done, t0 = 0, time.perf_counter()
    for batch in batches:
        if time.perf_counter() >= t_end:
            if not timed:
                ctx.notes.append("warm pass cut short by its time limit: later inputs are first seen in repeat 0")
            break
        _run_warm(ctx, batch)
        done += len(batch)
    return (time.perf_counter() - t0) / done if done else None


def _warm_batch(ctx: JobContext, i: int) -> float:
    """Run warm-up batch ``i`` (cycling over the batches); seconds per input."""
    batch = ctx.batches[i % len(ctx.batches)]
    t0 = time.perf_counter()
    _run_warm(ctx, batch)
    return (time.perf_counter() - t0) / len(batch)


def _run_warm(ctx: JobContext, batch: list[Any]) -> None:
    from wattprint.tasks.base import NullPhases

    ctx.task.run_batch(ctx.loaded, batch, NullPhases(), ctx.settings.task_params())
    ctx.sync()


def _settle(ctx: JobContext, times: list[float], next_i: int) -> list[float]:
    """More warm-up batches while each is still faster than ``SETTLE_RATIO`` x the best before it (at most
    ``SETTLE_MAX_S`` of them); the note says how many were added."""
    added, t0 = 0, time.perf_counter()
    while (len(times) >= 2 and times[-1] < SETTLE_RATIO * min(times[:-1])
           and time.perf_counter() - t0 < SETTLE_MAX_S):
        times.append(_warm_batch(ctx, next_i + added))
        added += 1
    if added:
        ctx.notes.append(f"warm-up: {added} more batch(es) until the time per input settled "
                         f"({times[0]:.3g} -> {times[-1]:.3g} s per input)")
    return times


def _fit_budget(ctx: JobContext, per_input_s: float, basis: str = "warm-up") -> None:
    """Keep as many inputs as fit ``time_budget_s`` (at least ``min_samples``), judged from ``basis``."""
    s = ctx.settings
    fit = math.floor((s.time_budget_s or 0.0) / per_input_s) if per_input_s > 0 else s.max_samples
    n = max(s.min_samples, min(s.max_samples, fit))
    n = min(n, len(ctx.inputs.items))
    n = max(s.batch_size, n - n % s.batch_size) if n >= s.batch_size else n
    ctx.batches = _batches(ctx.inputs.items[:n], s.batch_size)
    ctx.notes.append(
        f"inputs sized to a {s.time_budget_s:g} s budget: {per_input_s:.3g} s per input in {basis} -> {n} inputs"
        f" (min {s.min_samples}, max {s.max_samples})"
    )


def preprocess(ctx: JobContext) -> None:
    """With ``preprocess = "phase"`` or ``"arrow"``: turn every batch into model inputs (tokens, pixels) in a measured
    "preprocess" window before the repeats, as the AI Energy Score protocol does; the repeats then run
    the model on them. A task that cannot separate its preprocessing keeps it inline, and every record says so."""
    s = ctx.settings
    if s.preprocess not in ("phase", "arrow"):
        return
    if not getattr(ctx.task, "separable_preprocess", False):
        ctx.notes.append(f"preprocess: {ctx.task.name} cannot separate its preprocessing from the model call; "
                         "it stays inside the inference window (no preprocess phase)")
        return
    params = s.task_params()
    ctx.progress.stage(f"preprocessing {sum(len(b) for b in ctx.batches)} inputs (measured)")
    arrow = s.preprocess == "arrow" and _arrow_available(ctx)
    with OpenWindow(ctx.meter, "preprocess", ctx.sync, settle=ctx.settle) as window:
        prepared = [ctx.task.prepare(ctx.loaded, b, params) for b in ctx.batches]
        if arrow:  # written to an Arrow file here, read back batch by batch inside the repeats
            from wattprint.bench.arrow_inputs import ArrowInputs

            prepared = ArrowInputs(prepared)  # type: ignore[assignment]
            ctx.notes.append(ARROW_NOTE)
            ctx.notes.extend(prepared.notes)  # type: ignore[attr-defined]
        ctx.prepared = prepared
        ctx.preprocess = window.end()


def _arrow_available(ctx: JobContext) -> bool:
    from wattprint.bench.arrow_inputs import available

    if available():
        return True
    ctx.notes.append("preprocess: the datasets library is not installed (pip install 'wattprint[datasets]'), so the "
                     "prepared inputs stay in memory: the protocol's reads from its Arrow cache are not measured")
    return False
