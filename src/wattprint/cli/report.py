"""``wattprint report``: the leaderboard, charts and summaries of a store, as HTML, Markdown, CSV or JSON."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from wattprint.cli.args import check_output, check_store, same_file, store_file, write_output

HELP = "publish the store's runs: per-task summary, log-scale charts, star leaderboards (html, md, csv, json)"
DESCRIPTION = (
    "Aggregate the store's finished runs per (task, model, preset, dataset, weights, inputs) and write a "
    "report: a per-task summary (kWh per 1,000 inferences, gCO2e, equivalents), every model on a log scale, "
    "energy against parameter count, and a 1-5 star leaderboard per task. Summaries and headlines compare like "
    "with like (one preset, full-size or shrunk, one model kind; general-purpose models in their own columns); "
    "shrunk runs are marked; a separate section adds the study's node accounting (8 GPUs, RAM at 430.8 W). "
    "--format codecarbon writes the runs in CodeCarbon's emissions.csv columns instead."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from wattprint.report.formats import FORMATS

    parser.add_argument("--store", metavar="PATH", default=None, type=store_file(),
                        help="SQLite store (default: wattprint.db)")
    parser.add_argument("-o", "--output", metavar="FILE", default=None,
                        help="file to write, its suffix choosing the format (.html .md .csv .json); a folder for "
                             "--format aienergyscore (its submission files) or boamps (one report per run; "
                             "a .json file when one run is chosen); '-' for standard output (default: "
                             "wattprint-report.html for html, standard output otherwise)")
    parser.add_argument("--format", choices=sorted(FORMATS), default=None,
                        help="output format (default: from the -o suffix, else html)")
    parser.add_argument("--task", action="append", default=None, metavar="TASK", help="only this task (repeatable)")
    parser.add_argument("--star-scale", choices=("log", "linear"), default="log",
                        help="cut each task's energy range into five equal bands in log (default) or linear space")
    parser.add_argument("--title", default="wattprint report", help="title of the HTML page")
    from wattprint.carbon.cli_args import add_location_arguments

    add_location_arguments(parser)


def _location(args: argparse.Namespace):
    """Where runs stored without carbon ran: flags, environment or config file, else the world average
    (marked "defaulted" in the report). Runs that carry their own carbon keep it."""
    from wattprint.carbon.cli_args import location_from_args

    return location_from_args(args)


def chosen_tasks(names: list[str] | None, records: list[Any], store: str) -> tuple[str, ...] | None:
    """The tasks ``--task`` names, each a known task (close matches otherwise) with finished runs in the store."""
    from wattprint.core.errors import ConfigError, UnknownNameError
    from wattprint.tasks.registry import ALIASES, TASKS

    if not records:
        raise ConfigError(f"the store {store} has no finished runs",
                          "run `wattprint bench` first (wattprint export --status all shows failed runs)")
    if not names:
        return None
    stored = sorted({r.task for r in records})
    out = []
    for name in names:
        task = ALIASES.get(name, name)
        if task not in TASKS and task not in stored:  # imported runs may carry a task the registry lacks
            raise UnknownNameError("task", name, sorted(set(TASKS) | set(stored)),
                                   fix="run `wattprint tasks` for the list")
        if task not in stored:
            raise ConfigError(f"the store {store} has no finished run of {task}",
                              f"tasks in it: {', '.join(stored)} (or run `wattprint bench --task {task}`)")
        out.append(task)
    return tuple(dict.fromkeys(out))


def run(args: argparse.Namespace) -> int:

    from wattprint.core.errors import ConfigError
    from wattprint.report.formats import (
        DEFAULT_FILES,
        EXTENSIONS,
        ReportOptions,
        format_for_output,
        render,
        writes_folder,
    )
    from wattprint.store.sqlite import DEFAULT_PATH, Store

    folder = writes_folder(args.format, args.output)
    if not folder and args.output not in (None, "-"):
        check_output(args.output, EXTENSIONS.get(args.format or "", ".html"))  # a folder, before its "suffix"
    fmt = args.format if folder else format_for_output(args.output, args.format)
    path = args.store or DEFAULT_PATH
    check_store(path, "run `wattprint bench` first, or pass --store PATH")
    out = args.output or DEFAULT_FILES.get(fmt, "-")
    if folder:
        _check_folder(out, fmt)
    elif out not in ("-", args.output):  # the default file; a given -o was checked above
        check_output(out, EXTENSIONS[fmt])
    if out != "-" and same_file(out, path):
        raise ConfigError(f"-o {out} is the store itself", "pick another file for the report")
    location = _location(args)
    with Store(path, readonly=True) as store:
        records = store.runs()
        store.print_notices()
    tasks = chosen_tasks(args.task, records, path)
    if folder:
        return _write_folder(fmt, [r for r in records if tasks is None or r.task in tasks], out)
    opts = ReportOptions(location=location, star_scale=args.star_scale, tasks=tasks, title=args.title)
    text = render(fmt, records, opts)
    if out == "-":
        sys.stdout.write(text)
        return 0
    write_output(out, text, what="report", suffix=EXTENSIONS.get(fmt, ""))
    used = sum(1 for r in records if tasks is None or r.task in tasks)
    print(f"wrote {out} ({fmt}, {used} finished runs from {path})", file=sys.stderr)
    return 0


def _check_folder(out: str, fmt: str) -> None:
    """A format that is a set of files writes them into a folder: new, or an existing folder."""
    from pathlib import Path

    from wattprint.core.errors import ConfigError

    p = Path(out)
    if out == "-":
        raise ConfigError(f"--format {fmt} writes several files", "pass -o FOLDER")
    if p.exists() and not p.is_dir():
        raise ConfigError(f"-o {out} is a file; --format {fmt} writes a folder of files", "pass -o FOLDER")
    if not p.exists() and not p.parent.is_dir():
        raise ConfigError(f"the folder {p.parent} does not exist", "create it first, or pass another -o FOLDER")


def _write_folder(fmt: str, records: list, out: str) -> int:
    """A format that is a set of files (aienergyscore, boamps): ``-o`` names the folder to write them in. They
    are written into a staging folder beside it first, and moved in only when none would replace a file that
    wattprint did not write (``wattprint.cli.owned``): a refused report leaves the folder as it was."""
    import importlib
    import os
    import shutil
    import tempfile
    from pathlib import Path

    from wattprint.cli.owned import check_replaceable, remember
    from wattprint.report.formats import DIRECTORY_FORMATS

    module, func = DIRECTORY_FORMATS[fmt].split(":")
    target = Path(out)
    stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.resolve().parent))
    try:
        staged = getattr(importlib.import_module(module), func)(records, stage)
        moves = [(p, target / p.relative_to(stage)) for p in staged]
        for _, dest in moves:
            check_replaceable(dest)
        for src, dest in moves:
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dest)
            remember(dest)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    print(f"wrote {len(moves)} files under {out} ({fmt})", file=sys.stderr)
    return 0
