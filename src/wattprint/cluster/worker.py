"""What runs inside a Ray worker for one sweep job.

:func:`job_events` is a generator that Ray runs as a *streaming* task: everything it yields reaches the
driver as soon as it is yielded, so a repeat's record lands in the store when the repeat ends, and the
repeats that finished before a worker died are kept. It yields:

1. ``{"event": "started", ...}``: where the job runs (host, Ray node id, pid) and which GPUs it owns,
   by NVML UUID. The driver writes "running" rows for the job's repeats when it sees this.
2. ``{"event": "record", "record": RunRecord.to_dict()}`` for each finished or failed repeat, with the
   node, GPU UUIDs and origin "sweep" filled in.

The benchmark itself (``run_job``) reports records through a callback, so it runs in one named thread
of the worker while the generator hands its records on; an exception in it is re-raised here, after the
records it sent, and Ray reports it to the driver.
"""

from __future__ import annotations

import os
import queue
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from wattprint.cluster.gpus import GpuAssignment, assigned_gpu_ids, confirm_with_cuda, resolve_gpu_uuids

_DONE = object()


@dataclass(frozen=True)
class JobPayload:
    """What the driver sends with each job. ``run`` is ``run_job``-shaped (for tests: another runner)."""

    job: Any  # wattprint.bench.plan.Job
    label: str
    skip_keys: tuple[str, ...] = ()
    run: Callable[..., Any] | None = None  # None: wattprint.bench.runner.run_job
    nvml: Any = None  # an NVML module to resolve GPU ids with (tests: wattprint.meter.sim); None: pynvml
    meter_options: dict[str, Any] = field(default_factory=dict)  # extra Meter(...) keywords (tests: backends)


def where_am_i(ray_module: Any, gpus: GpuAssignment) -> dict[str, Any]:
    """The facts every record of this job carries about where it ran."""
    from wattprint._version import __version__

    ctx = ray_module.get_runtime_context() if ray_module is not None else None
    return {
        "host": socket.gethostname(),
        "node_id": ctx.get_node_id() if ctx is not None else None,
        "node_ip": ray_module.util.get_node_ip_address() if ray_module is not None else None,
        "pid": os.getpid(),
        "gpus": gpus.to_dict(),
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "cpu_attribution": "process: the job's share of the node's CPU energy by its process CPU time",
        "wattprint_version": __version__,
    }


def stamp(record: Any, where: dict[str, Any]) -> dict[str, Any]:
    """A RunRecord as a dict, marked as a sweep record with the node and GPUs it ran on."""
    record.origin = "sweep"
    record.node = where["host"]
    record.gpu_uuids = list(where["gpus"]["uuids"])
    env = dict(record.environment or {})
    env["cluster"] = {k: v for k, v in where.items() if k != "host"}
    record.environment = env
    return record.to_dict()


def job_events(payload: JobPayload) -> Iterator[dict[str, Any]]:
    """Run one job; yield a "started" event, then one "record" event per repeat (see module doc)."""
    import ray

    from wattprint.cluster import runner_api

    gpus = resolve_gpu_uuids(assigned_gpu_ids(ray), nvml=payload.nvml)
    if payload.nvml is None:  # real GPUs: let CUDA confirm which devices this process runs on
        gpus = confirm_with_cuda(gpus)
    where = where_am_i(ray, gpus)
    yield {"event": "started", "label": payload.label, **where}

    records: queue.Queue[Any] = queue.Queue()
    failure: list[BaseException] = []

    def body() -> None:
        try:
            run = payload.run or runner_api.run_job
            run(
                payload.job,
                meter_factory=runner_api.meter_factory(gpus.uuids, payload.nvml, **payload.meter_options),
                on_record=records.put,
                skip_keys=payload.skip_keys,
            )
        except BaseException as e:  # handed to the generator, which re-raises it for Ray to report
            failure.append(e)
        finally:
            records.put(_DONE)

    thread = threading.Thread(target=body, name=f"wattprint-sweep-job[{payload.label}]", daemon=True)
    thread.start()
    while (item := records.get()) is not _DONE:
        yield {"event": "record", "record": stamp(item, where)}
    thread.join(timeout=30.0)
    if failure:
        raise failure[0]
