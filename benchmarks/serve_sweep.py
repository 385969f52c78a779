"""Energy per token of `transformers serve` (continuous batching) under rising load, on one GPU.

For each model (random weights from its catalog config, bf16): build the model folder, launch
`transformers serve --continuous-batching` on the GPU, meter the GPU (by UUID) and the engine's process tree,
measure idle, warm up, sweep closed-loop concurrency with forced output lengths, stop the engine. Each level's
steady-state window is priced by the meter and checked against the GPU's raw energy counter read at the same
slice edges (nvmlDeviceGetTotalEnergyConsumption). Results: $OUT/serve_sweep-<model>.json (every level's
summary and the check), $OUT/serve-<model>.db (store records, the same provenance as every run), the engine's
log; a short table is printed last.

    python benchmarks/serve_sweep.py --out $OUT --models qwen2.5-1.5b-instruct          # on the H200
    python benchmarks/serve_sweep.py --smoke --out /tmp/smoke                            # CPU, tiny model, ~2 min

Wheels: FastAPI/Uvicorn/httpx/openai are not on the GPU image; when `.loadwhl/` exists and fastapi is missing
they are installed from it into /tmp/loadsite (docs/serving-benchmark.md says how to build the folder).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SITE = "/tmp/loadsite"
TINY = {"num_hidden_layers": 2, "hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 2,
        "num_key_value_heads": 1, "vocab_size": 2048}


def ensure_wheels() -> None:
    """Install the carried wheels when the serving stack is missing; the engine subprocess inherits the path."""
    try:
        import fastapi  # noqa: F401
        import httpx  # noqa: F401
        return
    except ImportError:
        pass
    wheels = sorted(str(p) for p in (ROOT / ".loadwhl").glob("*.whl"))
    if not wheels:
        sys.exit("fastapi/httpx missing and no .loadwhl/ folder: see docs/serving-benchmark.md")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile",
                    "--target", SITE, *wheels], check=True)
    sys.path.insert(0, SITE)
    os.environ["PYTHONPATH"] = os.pathsep.join([SITE, str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])


def counter_probe(index: int):
    """The GPU's raw energy counter in joules (a 3-4 ms read on Hopper): the check on the meter."""
    import pynvml

    pynvml.nvmlInit()
    h = pynvml.nvmlDeviceGetHandleByIndex(index)
    return lambda: pynvml.nvmlDeviceGetTotalEnergyConsumption(h) / 1000.0


def engine_command(model_dir: Path, port: int, smoke: bool) -> list[str]:
    """The serve command line, keeping only the options this transformers version lists in its --help."""
    exe = Path(sys.executable).with_name("transformers")
    found = str(exe) if exe.exists() else shutil.which("transformers")
    base = [found, "serve"] if found else [sys.executable, "-m", "transformers.cli.transformers", "serve"]
    helptext = subprocess.run([*base, "--help"], capture_output=True, text=True, timeout=120).stdout
    options = [("--continuous-batching", None), ("--host", "127.0.0.1"), ("--port", str(port)),
               ("--log-level", "warning"), ("--device", "cpu" if smoke else "cuda:0")]
    # on CPU a small KV cache: left to itself, continuous batching sizes it from the machine's free memory
    options += [("--cb-num-blocks", "64"), ("--cb-block-size", "32")] if smoke else [("--dtype", "bfloat16")]
    cmd = [*base, str(model_dir)]
    for flag, value in options:
        if flag in helptext:
            cmd += [flag] if value is None else [flag, value]
        else:
            print(f"transformers serve has no {flag} here: left out", flush=True)
    return cmd


def check(summary: dict) -> dict:
    """Meter against counter over the steady window's slices (GPU part of the meter); with --proxy, the
    proxy's receipts per output token against the meter's GPU energy per output token in the same window."""
    e = summary["energy"] or {}
    gpu, raw = e.get("by_kind_j", {}).get("gpu"), e.get("edge_probe_j")
    out = {"meter_gpu_j": gpu, "counter_j": raw,
           "meter_vs_counter": (gpu / raw - 1.0) if gpu is not None and raw else None}
    rec = summary.get("receipts")
    tokens = summary["tokens"]["output"]
    if rec and rec.get("j_per_output_token") and gpu and tokens:
        out["receipts_j_per_token"] = rec["j_per_output_token"]
        out["receipts_vs_meter"] = rec["j_per_output_token"] / (gpu / tokens) - 1.0
    return out


def proxy(upstream: str, smoke: bool, out: Path, name: str):
    """`wattprint proxy` in front of the engine (GPU only, idle shared among requests), as an Engine to stop."""
    from wattprint.loadgen.engine import Engine
    from wattprint.serve.testing import free_port

    port = free_port()
    cmd = [sys.executable, "-m", "wattprint", "proxy", "--upstream", upstream, "--listen", f"127.0.0.1:{port}",
           "--gpu", "none" if smoke else "0", "--no-ram", "--idle-seconds", "3", "--idle-policy", "even"]
    cmd += [] if smoke else ["--no-cpu"]
    return Engine(cmd, f"http://127.0.0.1:{port}", ready_timeout_s=120, log_path=str(out / f"proxy-{name}.log"))


def sweep_model(name: str, a: argparse.Namespace, out: Path) -> list[dict]:
    from wattprint.bench.environment import snapshot
    from wattprint.loadgen import session
    from wattprint.loadgen.energy import MeterEnergy
    from wattprint.loadgen.engine import Engine
    from wattprint.loadgen.record import SweepContext, to_record
    from wattprint.loadgen.runner import Level, LoadSettings
    from wattprint.loadgen.sweep import SweepState, run_sweep
    from wattprint.loadgen.target import Target
    from wattprint.loadgen.workload import resolve
    from wattprint.serve.testing import free_port
    from wattprint.store.sqlite import Store

    t0 = time.perf_counter()
    model_dir = Path(a.workdir) / name
    subprocess.run([sys.executable, "-m", "wattprint.loadgen.modeldir", name, str(model_dir),  # CUDA stays there
                    "--dtype", "float32" if a.smoke else "bfloat16", "--device", "cpu" if a.smoke else "cuda",
                    "--overrides", json.dumps(TINY if a.smoke else {})], check=True, env=os.environ)
    print(f"{name}: model folder in {time.perf_counter() - t0:.0f} s", flush=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    eng = Engine(engine_command(model_dir, port, a.smoke), url, ready_timeout_s=400,
                 log_path=str(out / f"engine-{name}.log"))
    summaries: list[dict] = []
    with contextlib.ExitStack() as stack:
        stack.enter_context(eng)
        print(f"{name}: engine ready after {eng.ready_after_s:.0f} s", flush=True)
        if a.proxy:
            url = stack.enter_context(proxy(url, a.smoke, out, name)).url
            print(f"{name}: requests go through wattprint proxy at {url}", flush=True)
        meter = session.build_meter(None if a.smoke else [0], eng.pid, a.counter_reads)
        probe = None if a.smoke else counter_probe(0)
        try:
            meter.wait_ready(2.0)
            meter.idle(a.idle)
            target = Target(url, str(model_dir), "completions", "transformers", timeout_s=300)
            workload = resolve(a.workload, seed=0)
            levels = [Level("concurrency", int(c)) for c in a.concurrency.split(",")]
            settings = LoadSettings(duration_s=a.duration, slice_s=a.slice)
            state = SweepState()
            uuids = sorted({w for line in meter.components() for w in line.split() if w.startswith("GPU-")})
            ctx = SweepContext(model=name, target={"url": url, "api": "completions", "force_length": "transformers",
                                                   "launch": " ".join(eng.argv)}, workload=workload.to_dict(),
                               load={"duration_s": a.duration, "slice_s": a.slice, "warmup": a.warmup},
                               weights="random", dtype="float32" if a.smoke else "bfloat16",
                               device="cpu" if a.smoke else "cuda:0", gpu_uuids=uuids, environment=snapshot(),
                               meter={"components": meter.components()})
            with Store(out / f"serve-{name}.db") as store:
                def on_level(s: dict) -> None:  # stored and written as each level ends: a cut run keeps them
                    s["check"] = check(s)
                    summaries.append(s)
                    store.add(to_record(ctx, s, len(summaries) - 1, time.time()))
                    (out / f"serve_sweep-{name}.json").write_text(json.dumps(
                        {"model": name, "levels": summaries, "warnings": state.warnings, "args": vars(a),
                         "engine_ready_s": eng.ready_after_s}, indent=1, default=str))
                    print(name, session.table([session.row(s)]), s["check"], flush=True)
                run_sweep(target, workload, levels, settings, MeterEnergy(meter, probe), on_level, a.warmup, state)
        finally:
            meter.close()
    return summaries


def table(results: dict[str, list[dict]]) -> None:
    from wattprint.loadgen import session

    print("\nmodel                     " + session.table([session.HEADER]) + "  meter/counter")
    for name, levels in results.items():
        for s in levels:
            d, r = s["check"]["meter_vs_counter"], s["check"].get("receipts_vs_meter")
            print(f"{name:<26}" + session.table([session.row(s)]) + ("" if d is None else f"  {d:+.1%}")
                  + ("" if r is None else f"  receipts/meter {r:+.1%}"))
        j = [s["per"]["j_per_output_token"] for s in levels if s["per"]["j_per_output_token"]]
        if j:
            print(f"{name}: J per output token falls {j[0] / min(j):.1f}x from {levels[0]['level']['label']} "
                  f"to the most frugal level")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=os.environ.get("OUT", "serve-out"))
    p.add_argument("--models", default="qwen2.5-1.5b-instruct,llama-3.1-8b-instruct")
    p.add_argument("--concurrency", default="1,2,4,8,16,32,64,128")
    p.add_argument("--workload", default="fixed:256:128", help="forced lengths: IN prompt words, OUT tokens")
    p.add_argument("--duration", type=float, default=15.0)
    p.add_argument("--slice", type=float, default=0.5)
    p.add_argument("--idle", type=float, default=5.0)
    p.add_argument("--warmup", type=int, default=8)
    p.add_argument("--counter-reads", type=float, default=10.0, help="meter's GPU counter reads per second")
    p.add_argument("--workdir", default="/tmp/serve-models")
    p.add_argument("--smoke", action="store_true", help="CPU, tiny model, two short levels")
    p.add_argument("--proxy", action="store_true", help="send requests through `wattprint proxy` and compare its "
                   "receipts with the meter")
    a = p.parse_args()
    if a.smoke:
        a.models, a.concurrency, a.duration, a.idle, a.warmup, a.workload = (
            "qwen2.5-0.5b-instruct", "1,2", 3.0, 0.5, 2, "fixed:16:12")
    ensure_wheels()
    sys.path.insert(0, str(ROOT / "src"))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    # `transformers serve` lists models from the hub cache and fails without one (a machine that never
    # downloaded a model): give it an empty one beside the model folders
    cache = Path(a.workdir) / "hf-cache"
    cache.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("HF_HUB_CACHE", str(cache))
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    results = {name: sweep_model(name, a, out) for name in a.models.split(",")}
    table(results)


if __name__ == "__main__":
    main()
