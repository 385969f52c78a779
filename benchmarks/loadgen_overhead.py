"""The load generator's own cost: CPU per request and the most requests per second it sustains on one core,
against an instant fake engine (wattprint.loadgen.fake, in its own process on another core when there is one).

    python benchmarks/loadgen_overhead.py [--concurrency 1,16,64,256] [--tokens 16] [--seconds 5]

Prints, per concurrency: requests/s, output tokens/s, client CPU ms per request, the client's share of its
core, the event loop's p99 lateness, and whether serve-bench would flag the level as client-saturated.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--concurrency", default="1,16,64,256")
    p.add_argument("--tokens", type=int, default=16, help="output tokens per request (one SSE chunk each)")
    p.add_argument("--seconds", type=float, default=5.0)
    a = p.parse_args()

    from wattprint.loadgen.energy import NoEnergy
    from wattprint.loadgen.runner import Level, LoadSettings
    from wattprint.loadgen.sweep import run_sweep
    from wattprint.loadgen.target import Target
    from wattprint.loadgen.workload import resolve
    from wattprint.serve.testing import free_port

    cores = sorted(os.sched_getaffinity(0))
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))}
    workers = max(1, min(8, len(cores) - 1))
    engine_cmd = [sys.executable, "-m", "wattprint.loadgen.fake", "--port", str(port), "--workers", str(workers)]
    if len(cores) > 1:
        engine_cmd = ["taskset", "-c", ",".join(map(str, cores[1:])), *engine_cmd]
    engine = subprocess.Popen(engine_cmd, env=env)
    os.sched_setaffinity(0, {cores[0]})  # the client on one core
    try:
        from wattprint.loadgen.engine import answers

        while not answers(f"http://127.0.0.1:{port}", 1.0):
            time.sleep(0.2)
        levels = [Level("concurrency", int(c)) for c in a.concurrency.split(",")]
        rows: list[dict] = []
        run_sweep(Target(f"http://127.0.0.1:{port}", "fake-model"), resolve(f"fixed:8:{a.tokens}", pool=64),
                  levels, LoadSettings(duration_s=a.seconds, slice_s=0.5), NoEnergy(), rows.append, warmup=16)
    finally:
        engine.terminate()
        engine.wait(10)
    print(f"machine: {os.cpu_count()} logical CPUs; client pinned to CPU {cores[0]}, fake engine ({workers} "
          f"worker(s)) on CPUs {cores[1:] or 'the same CPU'}; {a.tokens} output tokens per request")
    print("concurrency  req/s   out tok/s  client CPU ms/req  core share  loop lag p99 ms  saturated")
    for s in rows:
        c = s["client"]
        print(f"{s['level']['label']:<12} {s['throughput']['requests_per_s']:7.1f} "
              f"{s['throughput']['output_tokens_per_s']:10.0f} {c['cpu_ms_per_request']:17.2f} "
              f"{c['cpu_share']:10.0%} {1000 * (c['loop_lag_p99_s'] or 0):16.1f}  {c['saturated_reason'] or 'no'}")
    best = min(s["client"]["cpu_ms_per_request"] for s in rows)
    print(f"one core's ceiling from the client's CPU per request: about {1000 / best:.0f} requests/s "
          f"({a.tokens} tokens each); the measured rate above is that or the fake engine's, whichever is lower")


if __name__ == "__main__":
    main()
