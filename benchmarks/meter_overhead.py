"""The meter's own cost, next to CodeCarbon 3.x and Zeus measured in the same run.

    PYTHONPATH=src python benchmarks/meter_overhead.py [--sim] [--peer-python /tmp/peers-venv/bin/python]

Per tool, each in its own fresh process: import time (median of 5 fresh interpreters), the median
begin+end of an empty window (and begin and end apart: end includes resolving the window), and the CPU
share of the tool's background work while a window is open for --share-seconds (5 s) (process CPU time, threads and
children included, over wall time; the main thread sleeps). wattprint is measured on the counter path
(GPU only: real NVML on a GPU machine, the simulated NVML here) and with its defaults (GPU + CPU + RAM);
``wattprint-child`` is the defaults again with one live (sleeping) child process, as under
``wattprint measure -- CMD``, so that the edges read that child's CPU time.

For wattprint the sampler thread's own CPU (``Meter.sampler_cpu_seconds``) is also reported in three parts,
because a short run mixes a one-off start-up cost into a steady rate: **start-up** (CPU seconds until the meter
is ready: first readings and the counter refresh-phase search, once), **service** (``--steady-seconds``, default
30: back-to-back request windows of 0.45 s with 0.05 s between them, a window open 90% of the time, like a
serving process) and **no window** (``--idle-seconds``, default 15). With ``--sim`` each simulated counter read
burns ``--sim-read-ms`` (default 3) of CPU, as on Hopper (docs/benchmarks/nvml_call_cost.md).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
IMPORTS = {
    "wattprint": "from wattprint.meter.meter import Meter",
    "codecarbon": "from codecarbon import OfflineEmissionsTracker",
    "zeus": "from zeus.monitor import ZeusMonitor",
}


def import_time(python: str, stmt: str, env: dict[str, str]) -> float | str:
    code = f"import time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"
    runs = []
    for _ in range(5):
        p = subprocess.run([python, "-c", code], capture_output=True, text=True, env=env)
        if p.returncode != 0:
            return f"n/a: {p.stderr.strip().splitlines()[-1][:120]}"
        runs.append(float(p.stdout.strip().splitlines()[-1]))
    return statistics.median(runs)


# ---- one tool, in its own process ---------------------------------------------------------------
def _edges(begin: Any, end: Any, n: int) -> dict[str, float]:
    b, e, be = [], [], []
    for i in range(n):
        t0 = time.perf_counter()
        begin(i)
        t1 = time.perf_counter()
        end(i)
        t2 = time.perf_counter()
        b.append(t1 - t0)
        e.append(t2 - t1)
        be.append(t2 - t0)
    return {"n": n, "begin_median_us": statistics.median(b) * 1e6, "end_median_us": statistics.median(e) * 1e6,
            "begin_end_median_us": statistics.median(be) * 1e6,
            "begin_end_p90_us": sorted(be)[int(n * 0.9)] * 1e6}


def _cpu_share(seconds: float) -> float:
    import psutil

    p = psutil.Process()
    c0 = _proc_cpu(p)
    t0 = time.perf_counter()
    time.sleep(seconds)
    return (_proc_cpu(p) - c0) / (time.perf_counter() - t0)


def _proc_cpu(p: Any) -> float:
    t = p.cpu_times()
    total = t.user + t.system
    for c in p.children(recursive=True):
        try:
            ct = c.cpu_times()
            total += ct.user + ct.system
        except Exception:  # noqa: BLE001 - a child that just ended has no times left to add
            continue
    return total


def _sampler_share(m: Any, seconds: float, body: Any = None) -> dict[str, float]:
    """The sampler thread's CPU share (and the process's) over ``seconds`` of ``body`` (default: sleep)."""
    import psutil

    p = psutil.Process()
    s0, c0, t0, r0 = m.sampler_cpu_seconds(), _proc_cpu(p), time.perf_counter(), m._sampler.rounds
    windows = 0
    if body is None:
        time.sleep(seconds)
    else:
        windows = body(t0 + seconds)
    time.sleep(0.11)  # the sampler updates its CPU seconds after each round
    wall = time.perf_counter() - t0
    return {"seconds": wall, "sampler_share": (m.sampler_cpu_seconds() - s0) / wall,
            "wakeups_per_s": (m._sampler.rounds - r0) / wall,
            "process_share": (_proc_cpu(p) - c0) / wall, "windows": windows}


def _service(m: Any, until: float) -> int:
    """Request-like windows: 0.45 s open, 0.05 s closed, until ``until``."""
    n = 0
    while time.perf_counter() < until:
        m.begin("req")
        time.sleep(0.45)
        m.end("req")
        n += 1
        time.sleep(0.05)
    return n


def tool_wattprint(sim: bool, gpu_only: bool, share_s: float, child: bool = False, steady_s: float = 30.0,
                   idle_s: float = 15.0, sim_read_ms: float = 3.0) -> dict[str, Any]:
    from wattprint.meter.meter import Meter

    kid = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"]) if child else None

    if sim:
        from wattprint.core.clock import SystemClock
        from wattprint.meter.backends.nvml import NvmlBackend
        from wattprint.meter.sim.nvml import SimGpu, SimNvml

        gpu = NvmlBackend(SimNvml([SimGpu()], SystemClock(), counter_cpu_s=sim_read_ms / 1e3), gpus=[0], env={})
        if gpu_only:
            m = Meter(backends=[gpu])
        else:
            from wattprint.meter import discover

            m = Meter(backends=[gpu] + discover.build(None, True, True, "process", SystemClock()).backends)
    else:
        m = Meter(gpus=[0], cpu=not gpu_only, ram=not gpu_only)
    t0 = time.perf_counter()
    ready = m.wait_ready(3.0)
    ready_s = time.perf_counter() - t0
    time.sleep(0.15)  # let the round that finished the phase search report its CPU
    startup = {"ready": ready, "ready_s": ready_s, "sampler_cpu_ms": 1e3 * (m.sampler_cpu_seconds() or 0.0),
               "counter_reads": _counter_calls(m)}
    out = _edges(lambda i: m.begin(f"w{i}"), lambda i: m.end(f"w{i}"), 2000)
    out["startup"] = startup
    m.begin("long")
    c0 = _counter_calls(m)
    long = _sampler_share(m, share_s)
    out["cpu_share_process"] = long["process_share"]
    long["counter_reads"] = _counter_calls(m) - c0
    out["long_window"] = long
    m.end("long")
    for key, secs, body in (("service", steady_s, lambda until: _service(m, until)), ("no_window", idle_s, None)):
        if secs > 0:
            c0 = _counter_calls(m)
            out[key] = _sampler_share(m, secs, body)
            out[key]["counter_reads"] = _counter_calls(m) - c0
    out["cpu_share_sampler_thread"] = m.sampler_cpu_share()
    out["components"] = m.components()
    m.close()
    if kid is not None:
        kid.kill()
        kid.wait()
    return out


def _counter_calls(m: Any) -> int | None:
    """Counter reads so far, by the meter's GPUs (the sampler and the edges of windows of 1 s or more)."""
    n = [g.counter_reads for b in m.backends for g in getattr(b, "gpus", []) if hasattr(g, "counter_reads")]
    return sum(n) if n else None


def tool_zeus(share_s: float) -> dict[str, Any]:
    from zeus.monitor import ZeusMonitor

    mon = ZeusMonitor(gpu_indices=[0], cpu_indices=[])
    out = _edges(lambda i: mon.begin_window(f"w{i}"), lambda i: mon.end_window(f"w{i}"), 300)
    mon.begin_window("long")
    out["cpu_share_process"] = _cpu_share(share_s)
    mon.end_window("long")
    return out


def tool_codecarbon(share_s: float) -> dict[str, Any]:
    import logging

    from codecarbon import OfflineEmissionsTracker

    t0 = time.perf_counter()
    tr = OfflineEmissionsTracker(country_iso_code="USA", save_to_file=False, log_level="error",
                                 allow_multiple_runs=True)
    tr.start()
    out: dict[str, Any] = {"construct_and_start_s": time.perf_counter() - t0}
    logging.getLogger("codecarbon").setLevel(logging.ERROR)
    out.update(_edges(lambda i: tr.start_task(f"w{i}"), lambda i: tr.stop_task(f"w{i}"), 30))
    out["edges_api"] = "start_task/stop_task on one started tracker"
    out["cpu_share_process"] = _cpu_share(share_s)
    t1 = time.perf_counter()
    tr.stop()
    out["stop_s"] = time.perf_counter() - t1
    return out


def run_tool(args: argparse.Namespace) -> None:
    kw = {"steady_s": args.steady_seconds, "idle_s": args.idle_seconds, "sim_read_ms": args.sim_read_ms}
    if args.tool == "wattprint-gpu":
        res = tool_wattprint(args.sim, True, args.share_seconds, **kw)
    elif args.tool == "wattprint-default":
        res = tool_wattprint(args.sim, False, args.share_seconds, **kw)
    elif args.tool == "wattprint-child":
        res = tool_wattprint(args.sim, False, args.share_seconds, child=True, **kw)
    elif args.tool == "zeus":
        res = tool_zeus(args.share_seconds)
    else:
        res = tool_codecarbon(args.share_seconds)
    print("RESULT " + json.dumps(res, default=str))


# ---- orchestration --------------------------------------------------------------------------------
def child(python: str, tool: str, args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    cmd = [python, str(Path(__file__)), "--tool", tool, "--share-seconds", str(args.share_seconds)]
    if tool.startswith("wattprint"):
        cmd += ["--steady-seconds", str(args.steady_seconds), "--idle-seconds", str(args.idle_seconds),
                "--sim-read-ms", str(args.sim_read_ms)]
    if args.sim:
        cmd.append("--sim")
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    return {"error": (p.stderr.strip().splitlines() or ["no output"])[-1][:200]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", choices=["wattprint-gpu", "wattprint-default", "wattprint-child", "zeus",
                                           "codecarbon"])
    ap.add_argument("--sim", action="store_true", help="simulated NVML for wattprint's counter path")
    ap.add_argument("--peer-python", default=sys.executable)
    ap.add_argument("--share-seconds", type=float, default=5.0,
                    help="one long window open this long: process CPU share (all tools)")
    ap.add_argument("--steady-seconds", type=float, default=30.0,
                    help="wattprint: request-like windows (0.45 s open, 0.05 s closed) this long: steady sampler share")
    ap.add_argument("--idle-seconds", type=float, default=15.0, help="wattprint: no window open this long")
    ap.add_argument("--sim-read-ms", type=float, default=3.0, help="--sim: CPU ms per simulated counter read")
    ap.add_argument("--tools", default="wattprint-gpu,wattprint-default,zeus,codecarbon")
    args = ap.parse_args()
    if args.tool:
        return run_tool(args)
    sys.path.insert(0, str(HERE))
    from meter_common import environment_light, save, table

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    doc: dict[str, Any] = {"environment": environment_light(), "sim": args.sim, "tools": {}}
    tools = args.tools.split(",")
    doc["import_s"] = {"wattprint (import wattprint)": import_time(sys.executable, "import wattprint", env),
                       "wattprint (Meter)": import_time(sys.executable, IMPORTS["wattprint"], env)}
    for tool in ("codecarbon", "zeus"):
        if tool in tools:
            doc["import_s"][tool] = import_time(args.peer_python, IMPORTS[tool], env)
    for tool in ("wattprint-gpu", "wattprint-default", "wattprint-child"):
        if tool in tools:
            doc["tools"][tool] = child(sys.executable, tool, args, env)
    for tool in ("zeus", "codecarbon"):
        if tool in tools:
            doc["tools"][tool] = child(args.peer_python, tool, args, env)
    save("meter_overhead.json", doc)
    rows = [["tool", "import ms", "begin+end med us", "begin us", "end us", "p90 us", "CPU share %"]]
    imp = {"wattprint-gpu": "wattprint (Meter)", "wattprint-default": "wattprint (Meter)",
           "wattprint-child": "wattprint (Meter)",
           "zeus": "zeus", "codecarbon": "codecarbon"}
    for tool, r in doc["tools"].items():
        i = doc["import_s"][imp[tool]]
        if "error" in r:
            rows.append([tool, i * 1e3 if isinstance(i, float) else i, r["error"], "", "", "", ""])
            continue
        rows.append([tool, i * 1e3 if isinstance(i, float) else i, r["begin_end_median_us"], r["begin_median_us"],
                     r["end_median_us"], r["begin_end_p90_us"], 100 * r["cpu_share_process"]])
    e = doc["environment"]
    print(f"# meter_overhead on {e['cpu']} ({e['cpus']} CPUs), gpu={e.get('gpu')}, sim={args.sim}, {e['date_utc']}")
    print(f"import wattprint: {doc['import_s']['wattprint (import wattprint)']}")
    print(table(rows))
    rows = [["wattprint", "start-up CPU ms", "ready s", "service share %", "no-window share %",
             "long-window share %", "whole life %", "reads/s service", "reads/s no window", "wake-ups/s service",
             "wake-ups/s no window"]]
    for tool in ("wattprint-gpu", "wattprint-default", "wattprint-child"):
        r = doc["tools"].get(tool, {})
        if "cpu_share_sampler_thread" not in r:
            continue
        sv, nw, lw = r.get("service", {}), r.get("no_window", {}), r.get("long_window", {})

        def rate(d: dict) -> Any:
            return d["counter_reads"] / d["seconds"] if d.get("counter_reads") is not None else "n/a"

        rows.append([tool, r["startup"]["sampler_cpu_ms"], r["startup"]["ready_s"],
                     100 * sv.get("sampler_share", float("nan")), 100 * nw.get("sampler_share", float("nan")),
                     100 * lw.get("sampler_share", float("nan")), 100 * (r["cpu_share_sampler_thread"] or 0),
                     rate(sv), rate(nw), sv.get("wakeups_per_s", ""), nw.get("wakeups_per_s", "")])
    if len(rows) > 1:
        print("sampler thread (% of one core): start-up once, then steady rates")
        print(table(rows))


if __name__ == "__main__":
    main()
