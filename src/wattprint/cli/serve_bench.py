"""wattprint serve-bench: energy per token against latency of an LLM server under load."""

from __future__ import annotations

import argparse
from typing import Any

from wattprint.bench.settings import MAX_SEED
from wattprint.cli.args import MAX_IDLE_S, check_output, integer, number, same_file, store_file
from wattprint.core.errors import ConfigError

DAY_S = 86_400.0  # a wait or a level longer than a day is a typo, not a benchmark

HELP = "sweep an OpenAI-compatible LLM server's load and report joules per token beside latency"
DESCRIPTION = (
    "Drive an OpenAI-compatible server (yours at --url, or one wattprint starts with --launch and stops) with "
    "streamed requests at rising concurrency (closed loop) or Poisson request rates (open loop). Per level: "
    "energy per request, per output and input token (total and above idle) over a steady-state window found "
    "from the requests' timing, GPU power, achieved batch size, TTFT, inter-token and end-to-end latency "
    "percentiles, throughput and failures. Each level is stored as it finishes; --report draws energy per "
    "token against concurrency and against latency, with the Pareto frontier and the level to pick for a "
    "--latency-target. See docs/serving-benchmark.md."
)


def _levels(text: str, mode: str) -> list[Any]:
    from wattprint.loadgen.runner import Level

    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError as e:
        raise ConfigError(f"--{mode} {text!r} is not a comma-separated list of numbers",
                          fix=f"e.g. --{mode} {'1,2,4,8' if mode == 'concurrency' else '0.5,1,2'}") from e
    return [Level(mode, v) for v in values]


def add_arguments(p: argparse.ArgumentParser) -> None:
    t = p.add_argument_group("target")
    t.add_argument("--url", default="http://127.0.0.1:8000", help="the server's base URL (default %(default)s)")
    t.add_argument("--model", help="the model name the server serves (required unless --from-store)")
    t.add_argument("--api", choices=["chat", "completions"], default="chat", help="which OpenAI route (default chat)")
    t.add_argument("--launch", metavar="CMD", help="start the engine with this command line, wait until --url "
                   "serves, meter its process tree, stop it at the end")
    t.add_argument("--ready-timeout", type=number(above=0, maximum=DAY_S, example="--ready-timeout 600"),
                   default=600.0, metavar="S", help="wait for --launch (default 600 s)")
    t.add_argument("--force-length", default="auto", metavar="ENGINE",
                   help="how to force output lengths: transformers, vllm, sglang, llama.cpp, tgi, ollama, none; "
                        "auto: from --launch (transformers/vllm/sglang), else none")
    t.add_argument("--timeout", type=number(above=0, maximum=DAY_S, example="--timeout 600"),
                   default=600.0, metavar="S", help="per request (default 600 s)")
    w = p.add_argument_group("workload")
    w.add_argument("--workload", default="lmsys-chat",
                   help="lmsys-chat (default), sharegpt, fixed:IN:OUT, or a JSONL file")
    w.add_argument("--max-input", type=integer(minimum=1, example="--max-input 2048"),
                   metavar="N", help="clip drawn prompt lengths to N tokens")
    w.add_argument("--max-output", type=integer(minimum=1, example="--max-output 512"),
                   metavar="N", help="clip drawn output lengths to N tokens")
    w.add_argument("--seed", type=integer(minimum=0, maximum=MAX_SEED, example="--seed 0"),
                   default=0, help="seed of the drawn lengths and prompts (default 0)")
    g = p.add_argument_group("load")
    g.add_argument("--concurrency", metavar="LIST", help="closed-loop levels (default 1,2,4,8)")
    g.add_argument("--rate", metavar="LIST", help="open-loop Poisson request rates per second")
    g.add_argument("--duration", type=number(above=0, maximum=DAY_S, example="--duration 20"),
                   default=20.0, metavar="S", help="issuing time per level (default 20 s)")
    g.add_argument("--min-requests", type=integer(minimum=0, example="--min-requests 50"),
                   default=0, metavar="N", help="per level, even past --duration")
    g.add_argument("--warmup", type=integer(minimum=0, example="--warmup 4"),
                   default=4, metavar="N", help="requests before the first level, not counted")
    g.add_argument("--slice", type=number(above=0, maximum=60, example="--slice 0.5"),
                   default=0.5, metavar="S", help="energy slice (default 0.5 s)")
    e = p.add_argument_group("energy")
    e.add_argument("--energy", choices=["auto", "meter", "receipts", "none"], default="auto",
                   help="auto: the meter when --launch, else the receipts of a wattprint proxy at --url")
    e.add_argument("--gpus", default="visible", metavar="LIST",
                   help="the engine's GPUs: visible, none, indices or UUIDs")
    e.add_argument("--engine-pid", type=integer(minimum=1, example="--engine-pid 4242"),
                   metavar="PID", help="meter this running engine's process tree")
    e.add_argument("--idle", type=number(minimum=0, maximum=MAX_IDLE_S, example="--idle 5"),
                   default=5.0, metavar="S", help="idle baseline before the sweep (0: none)")
    e.add_argument("--counter-reads", type=number(above=0, maximum=10_000, example="--counter-reads 20"),
                   metavar="N", help="GPU counter reads per second (meter budget)")
    o = p.add_argument_group("record and report")
    o.add_argument("--store", default="wattprint.db", type=store_file(), help="SQLite store (default %(default)s)")
    o.add_argument("--json", metavar="PATH", help="write every level's summary as JSON")
    o.add_argument("--report", metavar="PATH", help="write the charts: .html or .md")
    o.add_argument("--latency-target", metavar="METRIC=S", help="pick the most frugal level meeting it, e.g. e2e_p95=2")
    o.add_argument("--from-store", action="store_true", help="no sweep: report the serve-bench levels in --store")
    o.add_argument("--weights", choices=["random", "pretrained", "unknown"], default="unknown",
                   help="what the engine serves (recorded)")
    o.add_argument("--dtype", default="", help="recorded with the results, e.g. bfloat16")
    from wattprint.carbon.cli_args import add_location_arguments

    add_location_arguments(p)


def _force(args: argparse.Namespace) -> str:
    if args.force_length != "auto":
        return str(args.force_length)
    cmd = args.launch or ""
    for name in ("transformers", "vllm", "sglang"):
        if name in cmd:
            return name
    return "none"


def _inputs(args: argparse.Namespace) -> tuple[Any, Any, list[Any], Any, Any]:
    from wattprint.loadgen.pareto import LatencyTarget
    from wattprint.loadgen.runner import LoadSettings
    from wattprint.loadgen.target import Target
    from wattprint.loadgen.workload import resolve

    if not args.model:
        raise ConfigError("--model is required", fix="give the name the server serves, e.g. --model Qwen/Qwen2.5-1.5B")
    if args.concurrency and args.rate:
        raise ConfigError("--concurrency and --rate together", fix="sweep one kind of load per run")
    levels = _levels(args.rate, "rate") if args.rate else _levels(args.concurrency or "1,2,4,8", "concurrency")
    target = Target(args.url, args.model, args.api, _force(args), args.timeout)
    workload = resolve(args.workload, seed=args.seed, max_input=args.max_input, max_output=args.max_output)
    settings = LoadSettings(args.duration, args.min_requests, args.slice, args.seed)
    slo = LatencyTarget.parse(args.latency_target) if args.latency_target else None
    return target, workload, levels, settings, slo


def check_outputs(args: argparse.Namespace) -> None:
    """--json and --report can be written, neither is the store or the other, before any level runs."""
    if args.report and not args.report.lower().endswith((".html", ".htm", ".md")):
        raise ConfigError(f"--report {args.report}: unknown format", fix="end the path with .html or .md")
    for flag, path, suffix in (("--json", args.json, ".json"), ("--report", args.report, ".html")):
        if not path:
            continue
        if same_file(path, args.store) or path == args.store:
            raise ConfigError(f"{flag} {path} is the store itself", fix=f"pick another file for {flag}")
        check_output(path, suffix)
    if args.json and args.report and (args.json == args.report or same_file(args.json, args.report)):
        raise ConfigError(f"--json and --report both name {args.json}", fix="give each its own file")


def run(args: argparse.Namespace) -> int:
    from wattprint.cli import serve_bench_run

    if args.from_store and not (args.report or args.json):
        args.report = "serve-bench.html"
    check_outputs(args)
    if args.from_store:
        return serve_bench_run.report_from_store(args)
    target, workload, levels, settings, slo = _inputs(args)
    from wattprint.carbon.cli_args import location_from_args
    from wattprint.store.ownership import inspect

    inspect(args.store)  # a --store that is not wattprint's is refused before the sweep, not after its first level

    location = location_from_args(args)
    return serve_bench_run.sweep(args, target, workload, levels, settings, slo, location)

