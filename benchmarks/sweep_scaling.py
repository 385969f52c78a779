"""Sweep scaling and overhead: jobs per hour on 1 GPU against 2, and the driver's cost per finished job.

Runs the same N jobs twice, each time on a fresh local Ray instance and a fresh store: once with one
GPU visible (``CUDA_VISIBLE_DEVICES=0``), once with two. Jobs per hour = jobs ended / wall time of
the sweep (Ray's start-up apart, reported on its own). Driver cost = CPU time (user + system) of the
driver process over the sweep / jobs ended. Target (issue #6): 2 GPUs give at least 1.8x the jobs per
hour of one.

On the GPU machine (2 GPUs; see docs/sweep.md for the wheels)::

    PYTHONPATH=src python3 benchmarks/sweep_scaling.py --out $OUT

Here, without GPUs, ``--simulate`` uses Ray's GPU slots as labels only: each job reserves one slot
and computes on the CPU (so on a 2-core machine the two "GPUs" share two cores: expect less)::

    .venv/bin/python benchmarks/sweep_scaling.py --simulate --jobs 4
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def make_plan(args: argparse.Namespace, n_gpus: int) -> Any:
    from wattprint.cluster.plan import plan_from_dict

    settings: dict[str, Any] = {"samples": args.samples, "weights": "random", "workload": "synthetic",
                                "idle_seconds": 0.0}
    if args.simulate:
        settings["device"] = "cpu"
    return plan_from_dict({
        "name": f"scaling-{n_gpus}gpu", "presets": ["quick"], "tasks": [args.task], "models": [args.model],
        "repeats": args.repeats, "settings": settings, "cross": {"seed": list(range(args.jobs))},
        "resources": {"num_cpus": args.cpus_per_job, "num_gpus": 1},
        "ray": {"num_cpus": max(2, 2 * n_gpus) if not args.simulate else n_gpus, "num_gpus": n_gpus},
    })


def one_run(args: argparse.Namespace, n_gpus: int) -> dict[str, Any]:
    """One sweep of ``args.jobs`` jobs with ``n_gpus`` GPUs, on its own Ray instance and store."""
    import ray

    from wattprint.cluster.session import local_init_kwargs
    from wattprint.cluster.sweep import run_sweep
    from wattprint.store.sqlite import Store

    plan = make_plan(args, n_gpus)
    payload = None
    if args.simulate:  # the jobs' "GPUs" are simulated ones, read through the NVML stand-in
        from sweep_gpu_check import node_nvml

        payload = {"nvml": node_nvml(True)[0], "meter_options": {"measure_owned_gpus": True}}
    else:
        os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(str(i) for i in range(n_gpus))  # the raylet inherits it
    t0 = time.monotonic()
    ray.init(include_dashboard=False, log_to_driver=False, **local_init_kwargs(plan.ray))
    ray_start_s = time.monotonic() - t0
    try:
        with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "scaling.db") as store:
            res = run_sweep(plan, store, payload_options=payload)
            records = store.runs(status=None)
    finally:
        ray.shutdown()
    ended = res.counts.jobs_ended
    return {
        "gpus": n_gpus, "jobs_ended": ended, "jobs_failed": res.counts.jobs_failed,
        "repeats_finished": sum(r.status == "finished" for r in records),
        "errors": sorted({r.error for r in records if r.error}),
        "ray_start_s": round(ray_start_s, 2), "sweep_s": round(res.duration_s, 2),
        "jobs_per_hour": round(3600 * ended / res.duration_s, 1) if res.duration_s else None,
        "driver_cpu_s": round(res.driver_cpu_s, 3),
        "driver_cpu_per_job_ms": round(1000 * res.driver_cpu_s / ended, 1) if ended else None,
        "gpus_used": sorted({u for r in records for u in r.gpu_uuids}),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--simulate", action="store_true", help="no GPUs: Ray GPU slots as labels, jobs on the CPU")
    p.add_argument("--task", default="text-classification")
    p.add_argument("--model", default=None, help="default: bert-base-sst2 on GPU, distilbert-sst2 simulated")
    p.add_argument("--jobs", type=int, default=8)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--samples", type=int, default=None, help="default: 400 on GPU, 4 simulated")
    p.add_argument("--cpus-per-job", type=float, default=1.0)
    p.add_argument("--gpus", default="1,2", help="GPU counts to compare")
    p.add_argument("--out", default=os.environ.get("OUT"))
    args = p.parse_args(argv)
    args.samples = args.samples or (4 if args.simulate else 400)
    args.model = args.model or ("distilbert-sst2" if args.simulate else "bert-base-sst2")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    runs = [one_run(args, int(n)) for n in args.gpus.split(",")]
    base = runs[0]["jobs_per_hour"]
    for r in runs:
        r["speedup"] = round(r["jobs_per_hour"] / base, 2) if base and r["jobs_per_hour"] else None
    result = {"device": "simulated (Ray GPU slots on CPU)" if args.simulate else _device(),
              "args": {k: v for k, v in vars(args).items() if k != "out"}, "runs": runs}
    print(f"device: {result['device']}; {args.jobs} jobs of {args.task}/{args.model}, {args.repeats} repeats "
          f"of {args.samples} samples")
    print(f"{'GPUs':>4} {'jobs':>5} {'failed':>6} {'ray start s':>11} {'sweep s':>8} {'jobs/h':>8} {'speedup':>7} "
          f"{'driver CPU ms/job':>17}")
    for r in runs:
        print(f"{r['gpus']:>4} {r['jobs_ended']:>5} {r['jobs_failed']:>6} {r['ray_start_s']:>11} {r['sweep_s']:>8} "
              f"{r['jobs_per_hour']:>8} {r['speedup']:>7} {r['driver_cpu_per_job_ms']:>17}")
        for e in r["errors"]:
            print(f"     error: {e}")
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "sweep_scaling.json").write_text(json.dumps(result, indent=1))
    return 0


def _device() -> str:
    import pynvml

    pynvml.nvmlInit()
    n = pynvml.nvmlDeviceGetCount()
    name = pynvml.nvmlDeviceGetName(pynvml.nvmlDeviceGetHandleByIndex(0)) if n else "no GPU"
    return f"{n} x {name.decode() if isinstance(name, bytes) else name}"


if __name__ == "__main__":
    sys.exit(main())
