"""``wattprint export``: write the store's runs to CSV, JSON or Parquet."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "export stored runs to CSV, JSON or Parquet"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", default="wattprint.db", metavar="PATH", help="SQLite file (default ./wattprint.db)")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="file to write (.csv, .json, .parquet)")
    p.add_argument("--format", choices=("csv", "json", "parquet"), help="default: from the file's suffix")
    p.add_argument("--task", help="only runs of this task")
    p.add_argument("--model", help="only runs of this model")
    p.add_argument("--status", default="finished", choices=("finished", "failed", "aborted", "running", "all"),
                   help="which runs (default finished)")


def run(args: argparse.Namespace) -> int:
    from wattprint.core.errors import ConfigError
    from wattprint.store.export import export, format_for
    from wattprint.store.sqlite import Store

    fmt = format_for(args.output, args.format)  # a bad suffix fails before anything is read
    if not Path(args.store).is_file():
        raise ConfigError(f"no store at {args.store}", fix="run wattprint bench first, or pass --store PATH")
    with Store(args.store, readonly=True) as store:
        records = store.runs(task=args.task, model=args.model, status=None if args.status == "all" else args.status)
        store.print_notices()
    n = export(records, args.output, fmt)
    print(f"wrote {n} run(s) to {args.output} ({fmt})")
    return 0
