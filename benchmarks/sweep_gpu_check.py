"""Does each sweep job measure its own GPU, and only it? (issue #6, "must show")

Runs a sweep of several GPU jobs at once (one GPU each) while a thread beside the driver reads every
GPU's NVML energy counter directly every 50 ms. For each finished repeat it compares the job's GPU
energy with the counter of the GPU the job says it owned (by UUID) over the repeat's window, shows
the other GPUs' energy over the same window (what a job that counted every GPU would have added), and
checks that the sum over jobs does not exceed what the node's GPUs measured over the sweep.

On a GPU machine (the device, no network: see docs/sweep.md for the wheels to carry)::

    PYTHONPATH=src python3 benchmarks/sweep_gpu_check.py --out $OUT

Here, on a CPU machine, two simulated GPUs (wattprint.meter.sim, constant 250 W and 410 W) stand in,
and jobs compute on the CPU while measuring "their" simulated GPU::

    .venv/bin/python benchmarks/sweep_gpu_check.py --simulate
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SIM_WATTS = (250.0, 410.0)
POLL_S = 0.05


@dataclass
class CounterLog:
    """Wall-clock stamped readings of every GPU's energy counter (J), taken by one named thread."""

    nvml: Any
    uuids: list[str]
    times: list[float] = field(default_factory=list)
    joules: dict[str, list[float]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self.joules = {u: [] for u in self.uuids}
        self._thread = threading.Thread(target=self._run, name="sweep-check-counters", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        handles = [self.nvml.nvmlDeviceGetHandleByUUID(u) for u in self.uuids]
        while not self._stop.is_set():
            t = time.time()
            for u, h in zip(self.uuids, handles):
                self.joules[u].append(self.nvml.nvmlDeviceGetTotalEnergyConsumption(h) / 1000.0)
            self.times.append(t)
            self._stop.wait(POLL_S)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)

    def at(self, uuid: str, t: float) -> float:
        """The counter of ``uuid`` at wall time ``t``, interpolated between the two nearest readings."""
        i = bisect.bisect_left(self.times, t)
        i = min(max(i, 1), len(self.times) - 1)
        t0, t1 = self.times[i - 1], self.times[i]
        e0, e1 = self.joules[uuid][i - 1], self.joules[uuid][i]
        return e0 + (e1 - e0) * (t - t0) / (t1 - t0) if t1 > t0 else e1

    def over(self, uuid: str, a: float, b: float) -> float:
        return self.at(uuid, b) - self.at(uuid, a)


def node_nvml(simulate: bool) -> tuple[Any, list[str]]:
    """The NVML module (real, or two simulated GPUs) and the node's GPU UUIDs."""
    if simulate:
        from wattprint.core.clock import SystemClock
        from wattprint.meter.sim.nvml import SimGpu, SimNvml
        from wattprint.meter.sim.traces import Constant

        nvml = SimNvml([SimGpu(trace=Constant(w)) for w in SIM_WATTS], SystemClock())
    else:
        import pynvml as nvml

        nvml.nvmlInit()
    uuids = []
    for i in range(nvml.nvmlDeviceGetCount()):
        u = nvml.nvmlDeviceGetUUID(nvml.nvmlDeviceGetHandleByIndex(i))
        uuids.append(u.decode() if isinstance(u, bytes) else u)
    return nvml, uuids


def make_plan(args: argparse.Namespace, n_gpus: int) -> Any:
    """Jobs that differ only by seed (so each is its own job), one GPU each."""
    from wattprint.cluster.plan import plan_from_dict

    settings: dict[str, Any] = {"samples": args.samples, "weights": "random", "workload": "synthetic",
                                "idle_seconds": 0.0, "batch_size": args.batch_size}
    if args.simulate:
        settings["device"] = "cpu"  # the GPUs are simulated: compute on the CPU, measure the sim GPU
    return plan_from_dict({
        "name": "gpu-check", "presets": ["quick"], "tasks": [args.task], "models": [args.model],
        "repeats": args.repeats, "settings": settings, "cross": {"seed": list(range(args.jobs))},
        "resources": {"num_cpus": args.cpus_per_job, "num_gpus": 1},
        "ray": {"num_cpus": max(2, n_gpus), "num_gpus": n_gpus},
    })


def check(records: list[Any], log: CounterLog, tolerance: float) -> dict[str, Any]:
    rows, ok = [], True
    for r in records:
        t1 = r.finished_at
        t0 = t1 - r.duration_s
        step_j = 0.1 * (r.gpu_energy_j / r.duration_s) if r.duration_s else 0.0  # one ~100 ms counter step
        for c in (c for c in r.components if c["kind"] == "gpu"):
            direct = log.over(c["uuid"], t0, t1)
            allowed = tolerance * direct + 2 * step_j
            others = {u: round(log.over(u, t0, t1), 3) for u in log.uuids if u != c["uuid"]}
            good = abs(c["energy_j"] - direct) <= allowed
            ok &= good
            rows.append({"job": f"seed={r.settings.get('seed')}", "repeat": r.repeat, "node": r.node,
                         "gpu": c["uuid"], "method": c["method"], "window_s": round(r.duration_s, 3),
                         "job_gpu_j": round(c["energy_j"], 3), "counter_j": round(direct, 3),
                         "diff_pct": round(100 * (c["energy_j"] - direct) / direct, 2) if direct else None,
                         "allowed_j": round(allowed, 3), "other_gpus_same_window_j": others, "ok": good})
    return {"rows": rows, "per_job_ok": ok}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--simulate", action="store_true", help="two simulated GPUs, jobs on the CPU")
    p.add_argument("--task", default="text-classification")
    p.add_argument("--model", default=None, help="default: bert-base-sst2 on GPU, distilbert-sst2 simulated")
    p.add_argument("--jobs", type=int, default=None, help="default: 2 per GPU")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--samples", type=int, default=None, help="default: 600 on GPU, 6 simulated")
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--cpus-per-job", type=float, default=None, help="default: 1 on GPU, 0.5 simulated")
    p.add_argument("--tolerance", type=float, default=0.03, help="relative, plus two counter steps")
    p.add_argument("--out", default=os.environ.get("OUT"), help="folder for sweep_gpu_check.json")
    args = p.parse_args(argv)
    nvml, uuids = node_nvml(args.simulate)
    args.jobs = args.jobs or 2 * len(uuids)
    args.model = args.model or ("distilbert-sst2" if args.simulate else "bert-base-sst2")
    args.samples = args.samples or (6 if args.simulate else 600)
    args.cpus_per_job = args.cpus_per_job or (0.5 if args.simulate else 1.0)
    result = run(args, nvml, uuids)
    print_table(result)
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "sweep_gpu_check.json").write_text(json.dumps(result, indent=1, default=str))
    return 0 if result["per_job_ok"] and result["sum_ok"] else 1


def run(args: argparse.Namespace, nvml: Any, uuids: list[str]) -> dict[str, Any]:
    from wattprint.cluster.sweep import run_sweep
    from wattprint.store.sqlite import Store

    plan = make_plan(args, len(uuids))
    log = CounterLog(nvml, uuids)
    payload = {"nvml": nvml, "meter_options": {"measure_owned_gpus": True}} if args.simulate else None
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "check.db") as store:
        log.start()
        time.sleep(3 * POLL_S)
        t_start = time.time()
        res = run_sweep(plan, store, payload_options=payload)
        t_end = time.time()
        time.sleep(3 * POLL_S)
        log.stop()
        records = store.runs(status=None)
    finished = [r for r in records if r.status == "finished"]
    out = check(finished, log, args.tolerance)
    node_total = {u: log.over(u, t_start, t_end) for u in uuids}
    jobs_total = sum(r.gpu_energy_j for r in finished)
    out.update({
        "device": "simulated GPUs (wattprint.meter.sim) at " + ", ".join(f"{w:g} W" for w in SIM_WATTS)
        if args.simulate else gpu_names(nvml),
        "args": {k: v for k, v in vars(args).items() if k != "out"},
        "jobs_ended": res.counts.jobs_ended, "repeats_finished": len(finished),
        "repeats_not_finished": [(r.repeat, r.status, r.error) for r in records if r.status != "finished"],
        "sweep_s": round(t_end - t_start, 2), "node_gpu_j": {u: round(v, 2) for u, v in node_total.items()},
        "sum_jobs_gpu_j": round(jobs_total, 2), "sum_node_gpu_j": round(sum(node_total.values()), 2),
        "sum_ok": jobs_total <= sum(node_total.values()) and bool(finished),
        "distinct_gpus_used": sorted({u for r in finished for u in r.gpu_uuids}),
    })
    return out


def gpu_names(nvml: Any) -> str:
    names = []
    for i in range(nvml.nvmlDeviceGetCount()):
        n = nvml.nvmlDeviceGetName(nvml.nvmlDeviceGetHandleByIndex(i))
        names.append(n.decode() if isinstance(n, bytes) else n)
    return f"{len(names)} x {names[0]}" if names and len(set(names)) == 1 else ", ".join(names)


def print_table(result: dict[str, Any]) -> None:
    print(f"device: {result['device']}; {result['jobs_ended']} jobs, {result['repeats_finished']} repeats "
          f"in {result['sweep_s']} s; GPUs used: {len(result['distinct_gpus_used'])}")
    print(f"{'job':<8} {'rep':>3} {'gpu':<14} {'window s':>8} {'job J':>10} {'counter J':>10} {'diff %':>7} "
          f"{'other GPUs J':>14} ok")
    for r in result["rows"]:
        others = sum(r["other_gpus_same_window_j"].values())
        print(f"{r['job']:<8} {r['repeat']:>3} {r['gpu'][:14]:<14} {r['window_s']:>8.2f} {r['job_gpu_j']:>10.2f} "
              f"{r['counter_j']:>10.2f} {r['diff_pct'] if r['diff_pct'] is not None else '-':>7} {others:>14.2f} "
              f"{'yes' if r['ok'] else 'NO'}")
    print(f"sum over jobs {result['sum_jobs_gpu_j']} J <= node GPUs over the sweep {result['sum_node_gpu_j']} J: "
          f"{'yes' if result['sum_ok'] else 'NO'}; every job matched its own GPU: "
          f"{'yes' if result['per_job_ok'] else 'NO'}")
    for rep in result["repeats_not_finished"]:
        print(f"not finished: {rep}")


if __name__ == "__main__":
    sys.exit(main())
