"""``wattprint bench``: run the task benchmark and keep every run in the store."""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Any

from wattprint.bench.settings import MAX_SAMPLES, MAX_SEED, MODEL_SELECTIONS
from wattprint.cli.args import MAX_IDLE_S, integer, number, param_pair, require_device, store_file

HELP = "run the task benchmark (preset x tasks x models) and store every run"
DESCRIPTION = (
    "Run standard AI tasks model against model and measure the energy of each inference. Every run is "
    "written to an SQLite store as it finishes; Ctrl-C keeps what finished. Presets: quick (default, a "
    "few minutes on a laptop CPU), paper, aienergyscore; every preset setting can be overridden by a flag."
)

# flag dest -> BenchSettings field (None flag values leave the preset's value)
_OVERRIDES = {
    "samples": "samples", "time_budget": "time_budget_s", "repeats": "repeats", "batch_size": "batch_size",
    "warmup": "warmup_batches", "datasets": "datasets", "dataset": "dataset", "models_rule": "models",
    "dtype": "dtype", "device": "device", "weights": "weights", "workload": "workload", "seed": "seed",
    "idle_seconds": "idle_seconds", "components": "components", "score": "score", "batch_windows": "batch_windows",
}
# short flags for task parameters: flag dest -> parameter name, set on every selected task that declares it
_PARAM_FLAGS = {
    "max_new_tokens": "max_new_tokens", "min_new_tokens": "min_new_tokens", "steps": "num_inference_steps",
    "height": "height", "width": "width",
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", default="quick", help="quick (default), paper, aienergyscore, or a .toml file")
    p.add_argument("--task", action="append", metavar="T", help="a task to run (repeatable; default: all)")
    p.add_argument("--model", action="append", metavar="M", help="catalog name, hub id or local folder (repeatable)")
    p.add_argument("--store", default="wattprint.db", metavar="PATH", type=store_file(),
                   help="SQLite file (default ./wattprint.db)")
    p.add_argument("--resume", action="store_true", help="skip runs the store already has as finished")
    p.add_argument("--trust-remote-code", action="store_true",
                   help="allow a hub model's own code to run (off by default)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars or lines")
    _add_settings(p.add_argument_group("settings (each overrides the preset)"))
    from wattprint.carbon.cli_args import add_location_arguments

    add_location_arguments(p)


def _add_settings(g: argparse._ArgumentGroup) -> None:
    count, whole = integer(minimum=1, example="--repeats 3"), integer(minimum=0, example="--warmup 1")
    samples = integer(minimum=1, maximum=MAX_SAMPLES, also=("auto",), example="--samples 100")
    g.add_argument("--samples", type=samples, metavar="N|auto",
                   help="inputs per dataset, or 'auto' (as many as fit --time-budget)")
    g.add_argument("--time-budget", type=number(above=0, example="--time-budget 30"), metavar="S",
                   help="seconds of inference per task when samples is auto")
    g.add_argument("--repeats", type=count, metavar="N", help="measured repeats of each model and dataset")
    g.add_argument("--batch-size", type=count, metavar="N", help="inputs per forward pass")
    g.add_argument("--warmup", type=whole, metavar="N", help="warm-up batches (never counted)")
    which = g.add_mutually_exclusive_group()  # names, or the first N: one would be dropped
    which.add_argument("--datasets", type=count, metavar="N", help="how many of each task's standard datasets")
    which.add_argument("--dataset", action="append", metavar="NAME", help="a dataset by name (repeatable)")
    g.add_argument("--models", dest="models_rule", choices=MODEL_SELECTIONS,
                   help="which catalog models when no --model is given (study: the models Power Hungry Processing "
                        "ran on the task)")
    g.add_argument("--dtype", choices=("float32", "bfloat16", "float16"), help="numeric type of the weights")
    g.add_argument("--device", metavar="D", help="auto, cpu, cuda, cuda:N, mps (checked before anything loads)")
    g.add_argument("--weights", choices=("pretrained", "random", "auto"),
                   help="hub weights, random weights from the kept config, or pretrained when reachable (auto)")
    g.add_argument("--workload", choices=("dataset", "synthetic", "auto"),
                   help="hub dataset rows, synthetic inputs matched to its statistics, or dataset when reachable")
    g.add_argument("--seed", type=integer(minimum=0, maximum=MAX_SEED, example="--seed 0"),
                   help="seed of inputs and random weights")
    g.add_argument("--max-new-tokens", type=count, metavar="N",
                   help="task parameter max_new_tokens: tokens to generate at most (generative tasks)")
    g.add_argument("--min-new-tokens", type=count, metavar="N",
                   help="task parameter min_new_tokens: tokens to generate at least (generative tasks)")
    g.add_argument("--steps", type=count, metavar="N", help="task parameter num_inference_steps (image generation)")
    g.add_argument("--height", type=count, metavar="PX", help="task parameter height in pixels (image generation)")
    g.add_argument("--width", type=count, metavar="PX", help="task parameter width in pixels (image generation)")
    g.add_argument("--param", action="append", type=param_pair, metavar="NAME=VALUE",
                   help="a task parameter, set on each selected task that takes it (repeatable; "
                        "`wattprint tasks --params` lists them; none resets one to the task's default)")
    idle = number(minimum=0, maximum=MAX_IDLE_S, example="--idle-seconds 5")
    g.add_argument("--idle-seconds", type=idle, metavar="S", help="idle baseline before each job (0: none)")
    g.add_argument("--components", nargs="+", choices=("gpu", "cpu", "ram"), help="what energy to count")
    g.add_argument("--score", choices=("total", "gpu"), help="headline energy")
    g.add_argument("--batch-windows", action="store_true", default=None,
                   help="a meter window per batch as well (energy per batch, p50/p95)")
    g.add_argument("--driver", choices=("direct", "pipeline"),
                   help="run each batch direct or as one transformers pipeline call where one fits (paper: pipeline)")


def overrides_from_args(args: argparse.Namespace) -> dict[str, Any]:
    out = {field: getattr(args, dest, None) for dest, field in _OVERRIDES.items()}
    out = {k: v for k, v in out.items() if v is not None}
    if getattr(args, "driver", None):
        out["driver"] = args.driver
    params = dict(getattr(args, "param", None) or [])
    params.update({name: getattr(args, dest) for dest, name in _PARAM_FLAGS.items()
                   if getattr(args, dest, None) is not None})  # a short flag wins over --param
    if params:
        out["params"] = params
    out["trust_remote_code"] = bool(args.trust_remote_code)  # never on from a preset file: only the flag
    return out


def _location(args: argparse.Namespace) -> tuple[Any, Any]:
    """The carbon Location the flags describe, and a live-intensity client when --live asked for one."""
    from wattprint.carbon.cli_args import live_client_from_args, location_from_args

    location = location_from_args(args)
    return location, live_client_from_args(location)


def _sigterm_as_interrupt() -> contextlib.AbstractContextManager[None]:
    """SIGTERM (a scheduler stopping the run) ends it like Ctrl-C: the running repeat is marked aborted, and
    the exit code is 143 (the CLI's main sets the same; this keeps it when ``run`` is called on its own)."""
    from wattprint.core.signals import stop_signals_interrupt

    return stop_signals_interrupt()


def run(args: argparse.Namespace) -> int:
    from wattprint.bench.environment import snapshot
    from wattprint.bench.plan import expand, plan_key, repeat_range
    from wattprint.bench.presets import load_preset
    from wattprint.bench.progress import make_progress
    from wattprint.bench.runner import run_job
    from wattprint.models.hub import offline_unless_reachable, uses_hub
    from wattprint.store.sqlite import Store

    preset = load_preset(args.preset)
    jobs = expand(preset, args.task, args.model, overrides_from_args(args))
    _check_unused_flags(args, jobs, preset.name)
    for device in sorted({j.settings["device"] for j in jobs}):
        require_device(device)  # before the store opens or anything loads
    location, live = _location(args)
    with Store(args.store) as store, _sigterm_as_interrupt():
        if store.recovered:
            print(f"wattprint: {store.recovered} run(s) left running by an ended process marked aborted",
                  file=sys.stderr)
        skip = store.done_keys() if args.resume else set()
        keys = {plan_key(j, r) for j in jobs for r in repeat_range(j)}
        environment = snapshot()
        progress = make_progress(not (args.no_progress or getattr(args, "quiet", False)))
        progress.plan(len(jobs))
        try:
            with offline_unless_reachable(uses_hub(jobs)):  # one probe, not one per model
                for job in jobs:
                    run_job(job, store=store, skip_keys=skip, progress=progress, location=location,
                            environment=environment, live=live)
        finally:
            progress.close()
        records = [r for r in store.runs(status=None) if r.plan_key in keys]
    return _print_results(records, args.store, preset.name, quiet=getattr(args, "quiet", False))


def _check_unused_flags(args: argparse.Namespace, jobs: list[Any], preset: str) -> None:
    """A flag the plan would ignore is refused, not dropped: --time-budget when no job sizes its samples by
    time, --datasets when the datasets are named (by the preset) or more than any selected task has."""
    from wattprint.core.errors import ConfigError
    from wattprint.tasks.registry import get_task

    if not jobs:
        return
    if args.time_budget is not None and all(j.settings.get("samples") is not None for j in jobs):
        given = (f"--samples {args.samples} fixes the count" if args.samples is not None
                 else f"preset {preset} sets samples = {jobs[0].settings['samples']}")
        raise ConfigError(f"--time-budget only applies when samples is auto, and {given}",
                          "add --samples auto, or drop --time-budget")
    if args.datasets is None:
        return
    named = sorted({d for j in jobs for d in j.settings.get("dataset") or ()})
    if named:
        raise ConfigError(f"--datasets {args.datasets}: preset {preset} names its datasets ({', '.join(named[:4])}"
                          f"{', ...' if len(named) > 4 else ''})", "pick them with --dataset NAME (repeatable)")
    most = max(len(get_task(t).datasets) for t in {j.task for j in jobs})
    if args.datasets > most:
        raise ConfigError(f"--datasets {args.datasets}: the selected tasks have at most {most} standard datasets",
                          f"pass --datasets {most} or fewer" if most > 1 else "drop --datasets")


def _latest(records: list[Any]) -> list[Any]:
    """Per plan key, the finished record if any, else the latest attempt."""
    best: dict[str, Any] = {}
    for r in records:
        old = best.get(r.plan_key)
        if old is None or r.status == "finished" or old.status != "finished":
            best[r.plan_key] = r
    return list(best.values())


def _print_results(records: list[Any], store_path: str, preset: str, quiet: bool = False) -> int:
    """The table on stdout (the result); the notes and the count of finished runs on stderr (--quiet: none)."""
    from wattprint.bench.summary import plain_table, rich_tables, rows

    result_rows = rows(_latest(records))
    if sys.stdout.isatty():
        try:
            from rich.console import Console
        except ImportError:
            print(plain_table(result_rows))
        else:
            console = Console()
            for table in rich_tables(result_rows):
                console.print(table)
    else:
        print(plain_table(result_rows))
    notes = sorted({w for r in result_rows for w in r.warnings if w.startswith(("settings shrunk", "carbon"))})
    notes += sorted({w for r in records if r.emissions for w in r.emissions.get("warnings", [])})
    failed = [r for r in result_rows if r.status != "finished"]
    if not quiet:
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
        print(f"{len(result_rows) - len(failed)} of {len(result_rows)} model run(s) finished (preset {preset}); "
              f"every run is in {store_path} (wattprint export --store {store_path} -o runs.csv)", file=sys.stderr)
    return 1 if result_rows and len(failed) == len(result_rows) else 0
