"""The sweep's seam onto the benchmark: job expansion, plan keys, the runner, and the job's meter.

Everything the cluster room needs from :mod:`wattprint.bench` and :mod:`wattprint.meter` goes through
these few functions, imported lazily (a Ray worker imports the benchmark only when it runs a job).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


def expand_jobs(preset: str, tasks: list[str], models: list[str], overrides: dict[str, Any]) -> list[Any]:
    """The runner's jobs for one preset and one combination of settings."""
    from wattprint.bench.plan import expand

    return list(expand(preset, tasks, models, overrides, overrides_from="the plan's settings"))


def check_settings(values: dict[str, Any]) -> None:
    """Each benchmark setting in ``values`` (a plan's) known, of its type and in its range (ConfigError)."""
    from wattprint.bench.settings import check_values

    check_values(values)


def job_plan_keys(job: Any) -> list[tuple[int, str]]:
    """``(repeat, plan_key)`` for each repeat of ``job``, in the order the runner runs them.

    The sweep makes the job's device concrete first (:func:`with_device`), so a CPU run and a GPU
    run of one plan have different keys.
    """
    from wattprint.bench.plan import plan_key, repeat_range

    return [(r, plan_key(job, r)) for r in repeat_range(job)]


def with_device(job: Any, num_gpus: int) -> Any:
    """The job with its device made concrete on the driver: "cuda" when it reserves GPUs, else "cpu".

    The runner would resolve "auto" on the worker, where the driver cannot see it; resolving it here
    puts the device into the plan key (a CPU run is never taken for a GPU one) and keeps a CPU job
    off GPUs that other jobs on its node own. Raises :class:`ConfigError` for a GPU device on a job
    that reserves no GPU.
    """
    import dataclasses

    from wattprint.core.errors import ConfigError

    device = job.settings.get("device", "auto")
    if device == "auto":
        device = "cuda" if num_gpus else "cpu"
    elif device.startswith("cuda") and not num_gpus:
        raise ConfigError(
            f"{job.task}/{job.model} asks for device {device!r} but reserves no GPU",
            "set num_gpus = 1 under [resources] (or in a [[resources.rules]] entry for this job)",
        )
    elif device.startswith("cuda:") and device != "cuda:0":
        raise ConfigError(f"device {device!r}: a sweep job sees only its own GPUs, as cuda:0, cuda:1...",
                          'use device = "cuda" (or "auto")')
    return dataclasses.replace(job, settings={**job.settings, "device": device})


def run_job(job: Any, **kwargs: Any) -> Any:
    from wattprint.bench.runner import run_job as _run_job

    return _run_job(job, **kwargs)


def meter_factory(gpu_uuids: Sequence[str], nvml: Any = None, **meter_options: Any) -> Callable[..., Any]:
    """A factory for the job's meter: the GPUs the job owns (by UUID), CPU attributed by process time.

    The runner asks for ``gpus=None`` when the job measures no GPU (a CPU device, or "gpu" left out of
    ``components``): then none is measured, never "visible" (on a shared node the GPUs of other jobs
    are visible too). When it asks for GPUs, the job gets every GPU Ray gave it, by UUID.
    ``nvml``: an NVML module to read the GPUs through (a stand-in from :mod:`wattprint.meter.sim` on
    machines without GPUs); None reads the real driver.
    """

    extra = dict(meter_options)
    # measure the owned GPUs even when the job computes on the CPU: simulated GPUs (benchmarks, tests)
    always_gpus = bool(extra.pop("measure_owned_gpus", False))

    def make(**kwargs: Any) -> Any:
        from wattprint.meter.meter import Meter

        options = {**kwargs, **extra}
        wants = kwargs.get("gpus") or always_gpus
        options["gpus"] = list(gpu_uuids) if (wants and gpu_uuids) else None
        options["cpu_scope"] = "process"
        if nvml is not None and options["gpus"]:
            options["backends"] = _backends_with(nvml, options)
        return Meter(**options)

    return make


def _backends_with(nvml: Any, options: dict[str, Any]) -> list[Any]:
    """The default CPU/RAM backends, with the job's GPUs read through the given NVML module."""
    from wattprint.core.clock import SystemClock
    from wattprint.meter import discover
    from wattprint.meter.backends.nvml import NvmlBackend

    clock = options.get("clock") or SystemClock()
    rest = discover.build(None, options.get("cpu", True), options.get("ram", True), "process", clock)
    return [NvmlBackend(nvml, gpus=options["gpus"], clock=clock), *rest.backends]
