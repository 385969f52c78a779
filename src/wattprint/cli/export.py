"""``wattprint export``: write the store's runs to CSV, JSON or Parquet."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from wattprint.cli.args import check_store, output_file, same_file, store_file, write_output

HELP = "export stored runs to CSV, JSON or Parquet"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", default="wattprint.db", metavar="PATH", type=store_file(),
                   help="SQLite file (default ./wattprint.db)")
    p.add_argument("-o", "--output", required=True, metavar="FILE", type=output_file(".csv"),
                   help="file to write (.csv, .json, .parquet); its folder must exist")
    p.add_argument("--format", choices=("csv", "json", "parquet"), help="default: from the file's suffix")
    p.add_argument("--task", help="only runs of this task (a name or alias from `wattprint tasks`)")
    p.add_argument("--model", help="only runs of this model")
    p.add_argument("--status", default="finished", choices=("finished", "failed", "aborted", "running", "all"),
                   help="which runs (default finished)")


def chosen_filters(args: argparse.Namespace, every: list[Any]) -> tuple[str | None, str | None]:
    """(task, model) to keep, a task alias resolved ("ner"). A name the store has no run of is an error with
    the closest names (the task registry's and the store's), rather than an empty file."""
    from wattprint.core.errors import ConfigError, UnknownNameError
    from wattprint.tasks.registry import ALIASES, TASKS

    task = ALIASES.get(args.task, args.task) if args.task else None
    checks = (("task", task, {r.task for r in every}), ("model", args.model, {r.model for r in every}))
    for flag, value, known in checks:
        if value is None or value in known:
            continue
        hint = f"the store has: {', '.join(sorted(known))}" if known else "the store has no runs"
        if flag == "task" and value in TASKS:
            raise ConfigError(f"the store has no run of task {value!r}", hint)
        names = sorted(known | (set(TASKS) | set(ALIASES) if flag == "task" else set()))
        raise UnknownNameError(f"{flag} in the store", value, names, fix=hint)
    return task, args.model


def run(args: argparse.Namespace) -> int:
    from wattprint.core.errors import ConfigError
    from wattprint.store.export import EXPORTERS, format_for
    from wattprint.store.sqlite import Store

    fmt = format_for(args.output, args.format)  # a bad suffix fails before anything is read
    check_store(args.store, "run wattprint bench first, or pass --store PATH")
    if same_file(args.output, args.store):
        raise ConfigError(f"-o {args.output} is the store itself", "pick another file to export to")
    with Store(args.store, readonly=True) as store:
        every = store.runs(status=None)
        store.print_notices()
    task, model = chosen_filters(args, every)
    status = None if args.status == "all" else args.status
    records = [r for r in every if (task is None or r.task == task)
               and (model is None or r.model == model) and (status is None or r.status == status)]
    write_output(args.output, lambda p: EXPORTERS[fmt](records, p), what="export", suffix=f".{fmt}")
    print(f"wrote {len(records)} run(s) to {args.output} ({fmt})", file=sys.stderr)  # as report and import do
    return 0
