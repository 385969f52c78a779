"""``wattprint import codecarbon FILE...``: bring CodeCarbon emissions.csv files into the store."""

from __future__ import annotations

import argparse
import sys

from wattprint.cli.args import integer, store_file

HELP = "import runs measured by another tool (CodeCarbon emissions.csv) into the store"
DESCRIPTION = (
    "Read CodeCarbon emissions.csv files (every column layout from 1.x to 3.x) into the store as finished runs "
    "of origin 'codecarbon'. In task logs (a task_name column, written by tracker.start_task()), only the "
    "inference rows count as inferences ('query model' by default, as the Power Hungry Processing study wrote "
    "them; --inference-task chooses others) and the other rows of the same run (load model, transfer model to "
    "GPU) are kept as its load energy. project_name (or --model) names the model, which must be in the catalog "
    "(or --unlisted-model); the catalog, or --task, gives its task. Every row is checked first: nothing is "
    "stored if one is not a valid measurement, unless --skip-bad-rows."
)
SOURCES = ("codecarbon",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", choices=SOURCES, help="the tool that wrote the files")
    parser.add_argument("files", nargs="+", metavar="FILE", help="emissions.csv files (run rows or task logs)")
    parser.add_argument("--inferences-per-run", type=integer(minimum=1, example="--inferences-per-run 1000"),
                        required=True, metavar="N",
                        help="inferences measured by each inference row of a task log, or by each run row")
    parser.add_argument("--inference-task", action="append", default=None, metavar="NAME",
                        help="task_name of the task-log rows that ran the inferences (default: 'query model'); "
                             "repeatable, glob patterns allowed, '*' for every task row")
    parser.add_argument("--task", help="task of the runs (wattprint, study or Hugging Face name, e.g. "
                                       "text-to-image; default: the catalog's task for the model)")
    parser.add_argument("--model", help="model of every row (default: the row's --model-column)")
    parser.add_argument("--model-column", default="project_name", choices=("project_name", "experiment_id"),
                        help="column that names the model (default: project_name)")
    parser.add_argument("--unlisted-model", action="store_true",
                        help="accept a model that is not in the catalog, stored under its own name (needs --task)")
    parser.add_argument("--batch-size", type=integer(minimum=1, example="--batch-size 8"), metavar="N",
                        help="batch size the measured code used (default: recorded as 1, with a warning)")
    parser.add_argument("--skip-bad-rows", action="store_true",
                        help="skip rows that are not valid measurements (each reported) instead of importing nothing")
    parser.add_argument("--store", metavar="PATH", default=None, type=store_file(folder_must_exist=True),
                        help="SQLite store (default: wattprint.db)")
    parser.add_argument("--dry-run", action="store_true", help="read, check and map the files, store nothing")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from wattprint.core.errors import ConfigError
    from wattprint.store.codecarbon_import import ImportOptions, add_new, plan_import
    from wattprint.store.sqlite import DEFAULT_PATH, Store
    from wattprint.tasks.names import resolve_task

    for f in args.files:
        if not Path(f).is_file():
            raise ConfigError(f"no such file: {f}", "pass the path of a CodeCarbon emissions.csv")
    opts = ImportOptions(inferences_per_run=args.inferences_per_run, task=args.task, model=args.model,
                         model_column=args.model_column,
                         inference_tasks=tuple(args.inference_task) if args.inference_task else None,
                         batch_size=args.batch_size, unlisted_model=args.unlisted_model,
                         skip_bad_rows=args.skip_bad_rows, task_resolver=resolve_task)
    plan = plan_import(args.files, opts)  # every file read and checked before the store is opened
    for line in plan.skipped:
        print(f"wattprint: skipped {line}", file=sys.stderr)
    for line in plan.notes:
        print(f"wattprint: {line}", file=sys.stderr)
    if args.dry_run:
        for r in plan.records:
            load = f"  load {r.load_energy_j / 3.6e6:.6g} kWh" if r.load_energy_j is not None else ""
            print(f"{r.task:24} {r.model:32} {r.wh_per_1000:.6g} Wh/1000  {r.energy_j / 3.6e6:.6g} kWh{load}")
        return 0
    path = args.store or DEFAULT_PATH
    if not plan.records:
        print("nothing to import" + (": every row was skipped" if plan.skipped else ": the files have no rows"),
              file=sys.stderr)
        return 1
    with Store(path) as store:
        added, already = add_new(plan.records, store)
    load = f", {plan.load_rows} load row(s) kept as load energy" if plan.load_rows else ""
    print(f"imported {len(added)} CodeCarbon run(s) into {path}{load}"
          + (f"; {already} already there" if already else ""), file=sys.stderr)
    return 0
