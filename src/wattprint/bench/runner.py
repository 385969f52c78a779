"""The benchmark runner: one job (a model on a task and a dataset) into one record per repeat.

For one job, in this order and in one meter:
1. an idle baseline (optional, ``idle_seconds``): recorded in every result, never subtracted;
2. loading the model, in its own measured window (``load_energy_j``, ``load_duration_s``);
3. warm-up batches, outside every window, never counted (the first also counts FLOPs when the task
   does not, and their time sets the number of inputs when the preset gives a time budget);
3b. with ``preprocess = "phase"`` (or ``"arrow"``, kept in an Arrow file read back per batch): every batch
   tokenized/processed in its own measured window
   (``preprocess_energy_j``), so that the repeats run the model only;
4. each repeat: one window around all its batches; a task's prefill/decode phases are windows
   nested in it, all in a single pass; per-batch latency from the clock around each batch.

Each repeat is written to the store as ``running`` before it starts and as finished right after, so
a killed run keeps every finished repeat. A model that cannot load or runs out of memory gives one
failed record with the reason, and the caller goes on with the next job.
"""

from __future__ import annotations

import contextlib
import platform
import signal
import time
from collections.abc import Callable, Iterable
from typing import Any

import wattprint.carbon as carbon
from wattprint.bench.derive import RepeatWork, fill_carbon, fill_energy, fill_score, fill_work
from wattprint.bench.plan import Job, plan_key, repeat_range
from wattprint.bench.progress import NullProgress, Progress
from wattprint.bench.settings import BenchSettings, resolve_device, settings_with
from wattprint.bench.stats import percentile
from wattprint.bench.windows import BatchWindows, MeterPhases, OpenWindow, device_sync
from wattprint.bench.workflow import (
    JobContext,
    failure_types,
    is_job_failure,
    load_model,
    make_inputs,
    preprocess,
    warm_up,
)
from wattprint.core.errors import WattprintError
from wattprint.core.signals import Interrupted
from wattprint.store.record import RunRecord


def _default_meter(**kwargs: Any) -> Any:
    from wattprint.meter.meter import Meter

    return Meter(**kwargs)


BENCH_COUNTER_READS_PER_S = 10.0


def meter_options(settings: BenchSettings) -> dict[str, Any]:
    """Meter keywords for a job: the job's own GPU (by UUID) when it runs on CUDA, CPU and RAM if asked."""
    gpus: Any = None
    if "gpu" in settings.components and settings.device.startswith("cuda"):
        import torch

        index = torch.device(settings.device).index or 0
        uuid = str(torch.cuda.get_device_properties(index).uuid)
        gpus = [uuid if uuid.startswith(("GPU-", "MIG-")) else f"GPU-{uuid}"]
    options: dict[str, Any] = {"gpus": gpus, "cpu": "cpu" in settings.components, "ram": "ram" in settings.components}
    if gpus:
        # A benchmark's repeat windows must rest on the energy counter, not the power field: read it at every
        # 100 ms refresh (~3% of a core on Hopper, docs/benchmarks/nvml_call_cost.md) and settle each repeat.
        options["counter_reads_per_s"] = BENCH_COUNTER_READS_PER_S
    return options


def _location(location: Any) -> Any:
    if location is not None:
        return location
    return carbon.resolve_location()  # nothing configured: the world average, marked "defaulted"


def run_job(
    job: Job,
    *,
    store: Any = None,
    meter_factory: Callable[..., Any] | None = None,
    on_record: Callable[[RunRecord], None] | None = None,
    skip_keys: Iterable[str] = (),
    progress: Progress | None = None,
    location: Any = None,
    environment: dict[str, Any] | None = None,
    live: Any = None,
) -> list[RunRecord]:
    """Run ``job``; return its finished or failed records (repeats in ``skip_keys`` are skipped).

    ``meter_factory`` takes Meter keywords (gpus, cpu, ram) and returns a meter (default: ``Meter``).
    ``location`` is a :class:`wattprint.carbon` Location (default: what ``resolve_location()`` gives);
    ``live`` an Electricity Maps client for hourly intensities (``wattprint.carbon.cli_args``).
    A KeyboardInterrupt marks the running repeat ``aborted`` in the store and propagates.
    """
    skip = set(skip_keys)
    todo = [(r, plan_key(job, r)) for r in repeat_range(job) if plan_key(job, r) not in skip]
    progress = progress or NullProgress()
    if not todo:
        progress.job_finished(job.label(), "already done (skipped)")
        return []
    settings = BenchSettings.from_dict(job.settings)
    settings = settings_with(settings, device=resolve_device(settings.device))
    if environment is None:
        from wattprint.bench.environment import snapshot

        environment = snapshot()
    ctx = JobContext(job=job, settings=settings, store=store, on_record=on_record, progress=progress,
                     carbon=carbon, location=_location(location), environment=environment,
                     sync=device_sync(settings.device), live=live)
    factory = meter_factory or _default_meter
    progress.job_started(job.label(), len(todo))
    options = meter_options(settings)
    with contextlib.closing(factory(**options)) as meter:
        ctx.meter, ctx.settle = meter, "counter_reads_per_s" in options  # a counter bought: wait for it
        records = _run(ctx, todo)
    progress.job_finished(job.label(), _summary(records))
    return records


def _summary(records: list[RunRecord]) -> str:
    failed = [r for r in records if r.status != "finished"]
    if failed:
        return f"{failed[0].status}: {failed[0].error}"
    values = [r.wh_per_1000 for r in records if r.wh_per_1000 is not None]
    if not values:
        return "no energy recorded"
    line = f"{sum(values) / len(values):.4g} Wh per 1,000 inferences ({len(values)} repeat(s))"
    scores = [r.score_wh_per_1000 for r in records if r.score_wh_per_1000 is not None]
    if scores and records[0].settings.get("score") == "gpu":
        line += f"; score {sum(scores) / len(scores):.4g} Wh per 1,000 ({records[0].score_basis.split(',')[0]})"
    return line


def new_record(ctx: JobContext, repeat: int, key: str) -> RunRecord:
    s = ctx.settings
    return RunRecord(
        task=ctx.job.task, model=ctx.job.model, preset=ctx.job.preset, repeat=repeat, plan_key=key,
        started_at=time.time(), dataset=ctx.job.dataset, batch_size=s.batch_size, dtype=s.dtype,
        device=s.device, settings=s.to_dict(), environment=ctx.environment, node=platform.node(),
        warnings=[f"settings shrunk: {s.shrunk}"] if s.shrunk else [],
    )


def _begin(ctx: JobContext, record: RunRecord) -> RunRecord:
    if ctx.store is not None:
        ctx.store.start(record)
    return record


def _end(ctx: JobContext, record: RunRecord, status: str, error: str | None = None) -> RunRecord:
    record.status, record.error = status, error
    record.finished_at = time.time()
    if ctx.store is not None:
        ctx.store.finish(record)
    ctx.committed = record.run_id
    if ctx.on_record is not None and status in ("finished", "failed"):
        ctx.on_record(record)
    return record


def _interrupted(ctx: JobContext, record: RunRecord, e: KeyboardInterrupt) -> None:
    """On Ctrl-C or SIGTERM: a repeat whose final state was not yet written is written now, as aborted, unless
    its measurement had completed (then it is kept as it was)."""
    if ctx.committed == record.run_id:
        return
    if record.status in ("finished", "failed"):
        _end(ctx, record, record.status, record.error)
    else:
        terminated = isinstance(e, Interrupted) and e.signum != signal.SIGINT
        why = e.reason if isinstance(e, Interrupted) and terminated else "interrupted (KeyboardInterrupt)"
        _end(ctx, record, "aborted", f"aborted: {why}")


def _describe(e: BaseException) -> str:
    text = e.message if isinstance(e, WattprintError) else str(e)
    return f"{type(e).__name__}: {text.splitlines()[0] if text else ''}".strip()


def _failures() -> tuple[type[BaseException], ...]:
    return (*failure_types(), RuntimeError)


def _set_up(ctx: JobContext, record: RunRecord) -> RunRecord | None:
    """Idle baseline, load, inputs, warm-up, preprocess; the failed record when the model cannot run."""
    if ctx.settings.idle_seconds > 0:
        ctx.progress.stage(f"idle baseline ({ctx.settings.idle_seconds:g} s)")
        ctx.meter.idle(ctx.settings.idle_seconds)
    try:
        load_model(ctx)
        _choose_driver(ctx)
        make_inputs(ctx)
        warm_up(ctx)
        preprocess(ctx)
    except _failures() as e:
        if not is_job_failure(e):
            raise
        ctx.fill_static(record)
        return _end(ctx, record, "failed", f"cannot run the model: {_describe(e)}")
    return None


def _probe_host(record: RunRecord, device: str) -> None:
    """Time the host's dispatch just before the repeat's window opens (``host_probe`` in its environment): a
    batch-1 loop's time, and so its energy, moves with its host's speed from one repeat to the next."""
    from wattprint.bench.host_probe import probe

    record.environment = {**record.environment, "host_probe": probe(device)}


def _choose_driver(ctx: JobContext) -> None:
    """The task runs direct or through its transformers pipeline (``driver``); a pipeline asked for that does
    not fit the task or model leaves it direct, and every record says which ran and why."""
    from wattprint.tasks._pipeline import drive

    ctx.task, ran = drive(ctx.task, ctx.loaded, ctx.settings.driver)
    ctx.loaded.extra["driver"] = ran
    if ran.startswith("direct ("):
        ctx.notes.append(f"driver: {ran}")


def _run(ctx: JobContext, todo: list[tuple[int, str]]) -> list[RunRecord]:
    records: list[RunRecord] = []
    record = new_record(ctx, *todo[0])
    try:
        _begin(ctx, record)
        failed = _set_up(ctx, record)
        if failed is not None:
            return [failed]
        for i, (repeat, key) in enumerate(todo):
            if i > 0:
                record = new_record(ctx, repeat, key)  # known to the handlers below before its row exists
                _begin(ctx, record)
            try:
                _probe_host(record, ctx.settings.device)
                _measure_repeat(ctx, record)
            except _failures() as e:
                if not is_job_failure(e):
                    raise
                records.append(_end(ctx, record, "failed", f"failed during repeat {repeat}: {_describe(e)}"))
                return records  # an out-of-memory repeat would fail again: go on with the next job
            records.append(_end(ctx, record, "finished"))
        return records
    except KeyboardInterrupt as e:
        _interrupted(ctx, record, e)
        raise
    except Exception as e:  # a bug: the run stops with its traceback, and the store says why at once
        if ctx.committed != record.run_id:
            _end(ctx, record, "aborted", f"aborted: {_describe(e)}")
        raise


def _measure_repeat(ctx: JobContext, record: RunRecord) -> None:
    """One repeat: all batches inside one meter window, phases nested, latency per batch."""
    s, task, loaded = ctx.settings, ctx.task, ctx.loaded
    batches = ctx.batches
    ctx.progress.repeat_started(record.repeat, s.repeats, sum(len(b) for b in batches))
    ctx.reset_peak_memory()
    record.started_at = time.time()
    phases = MeterPhases(ctx.meter, f"repeat{record.repeat}", ctx.sync)
    per_batch = BatchWindows(ctx.meter, f"repeat{record.repeat}", s.batch_windows)
    work = RepeatWork()
    params = s.task_params()
    try:
        with OpenWindow(ctx.meter, f"repeat{record.repeat}", ctx.sync, settle=ctx.settle) as window:
            for i, batch in enumerate(batches):
                per_batch.begin(i)
                t0 = time.perf_counter()
                if ctx.prepared is not None:
                    result = task.run_prepared(loaded, ctx.prepared[i], phases, params)
                else:
                    result = task.run_batch(loaded, batch, phases, params)
                ctx.sync()
                work.add(result.units, time.perf_counter() - t0, result.flops, result.outputs,
                         getattr(result, "flops_method", None))
                per_batch.end()
                ctx.progress.advance(len(batch))
            m = window.end()
    finally:
        phases.close_open()
        per_batch.close_open()
    record.finished_at = time.time()
    ctx.fill_static(record)
    record.driver = loaded.extra.get("driver", "direct")
    fill_energy(record, m)
    record.phases = dict(phases.energy_j)
    record.phase_durations = dict(phases.duration_s)
    record.phase_energy_by_kind = {k: dict(v) for k, v in phases.by_kind.items()}
    record.warnings.extend(w for w in phases.warnings if w not in record.warnings)
    fill_work(record, work, phases.edge_s + per_batch.edge_s)
    if per_batch.energy_j:
        record.batch_energy_p50_j = percentile(per_batch.energy_j, 50)
        record.batch_energy_p95_j = percentile(per_batch.energy_j, 95)
    if ctx.flops_per_inference is not None:  # counted beats the tasks' analytic approximation
        record.flops_per_inference, record.flops_method = ctx.flops_per_inference, ctx.flops_method
    elif record.flops_per_inference is not None:
        record.flops_method = work.flops_method
    record.peak_gpu_memory_bytes = ctx.peak_memory()
    record.scores = ctx.score(work.outputs)
    fill_score(record, s.score)
    fill_carbon(record, ctx.location, ctx.carbon, ctx.live)
