"""``wattprint import codecarbon FILE...``: bring CodeCarbon emissions.csv files into the store."""

from __future__ import annotations

import argparse
import sys

HELP = "import runs measured by another tool (CodeCarbon emissions.csv) into the store"
DESCRIPTION = (
    "Read CodeCarbon emissions.csv files (every column layout from 1.x to 3.x, run rows and task rows) into "
    "the store as finished runs of origin 'codecarbon'. project_name (or --model-column) names the model; "
    "the catalog, or --task, gives its task; --inferences-per-run says how many inferences each row measured. "
    "CodeCarbon's own labels (tracking_mode, cpu_model, its CPU/GPU/RAM split) are kept with each run."
)
SOURCES = ("codecarbon",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", choices=SOURCES, help="the tool that wrote the files")
    parser.add_argument("files", nargs="+", metavar="FILE", help="emissions.csv files")
    parser.add_argument("--inferences-per-run", type=int, required=True, metavar="N",
                        help="inferences done in each tracked run or task (to get energy per 1,000)")
    parser.add_argument("--task", help="task of the runs (default: the catalog's task for the model)")
    parser.add_argument("--model", help="model of every row (default: the row's --model-column)")
    parser.add_argument("--model-column", default="project_name", choices=("project_name", "task_name", "experiment_id"),
                        help="column that names the model (default: project_name)")
    parser.add_argument("--store", metavar="PATH", default=None, help="SQLite store (default: wattprint.db)")
    parser.add_argument("--dry-run", action="store_true", help="read and map the files, store nothing")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from wattprint.core.errors import ConfigError
    from wattprint.store.codecarbon import ImportOptions, import_files, read_records
    from wattprint.store.sqlite import DEFAULT_PATH, Store

    for f in args.files:
        if not Path(f).is_file():
            raise ConfigError(f"no such file: {f}", "pass the path of a CodeCarbon emissions.csv")
    opts = ImportOptions(inferences_per_run=args.inferences_per_run, task=args.task, model=args.model,
                         model_column=args.model_column)
    if args.dry_run:
        for r in read_records(args.files, opts):
            print(f"{r.task:24} {r.model:32} {r.energy_j / 3.6e6:.6g} kWh  {r.settings['codecarbon_layout']} layout")
        return 0
    path = args.store or DEFAULT_PATH
    with Store(path) as store:
        added, skipped = import_files(args.files, opts, store)
    print(f"imported {len(added)} CodeCarbon run(s) into {path}" + (f"; {skipped} already there" if skipped else ""),
          file=sys.stderr)
    return 0
