"""``wattprint report``: the leaderboard, charts and summaries of a store, as HTML, Markdown, CSV or JSON."""

from __future__ import annotations

import argparse
import sys

HELP = "publish the store's runs: per-task summary, log-scale charts, star leaderboards (html, md, csv, json)"
DESCRIPTION = (
    "Aggregate the store's finished runs per (task, model, preset, dataset, weights, inputs) and write a "
    "report: a per-task summary (kWh per 1,000 inferences, gCO2e, equivalents), every model on a log scale, "
    "energy against parameter count, and a 1-5 star leaderboard per task. --format codecarbon writes the "
    "runs in CodeCarbon's emissions.csv columns instead."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from wattprint.report.formats import FORMATS

    parser.add_argument("--store", metavar="PATH", default=None, help="SQLite store (default: wattprint.db)")
    parser.add_argument("-o", "--output", metavar="FILE", default=None,
                        help="file to write (a folder for aienergyscore: its submission files); '-' for standard "
                             "output (default: wattprint-report.html for html, standard output otherwise)")
    parser.add_argument("--format", choices=sorted(FORMATS), default="html", help="output format (default: html)")
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


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from wattprint.core.errors import ConfigError
    from wattprint.report.formats import DEFAULT_FILES, DIRECTORY_FORMATS, ReportOptions, render
    from wattprint.store.sqlite import DEFAULT_PATH, Store

    path = args.store or DEFAULT_PATH
    if not Path(path).exists():
        raise ConfigError(f"no store at {path}", "run `wattprint bench` first, or pass --store PATH")
    with Store(path, recover=False) as store:
        records = store.runs()
    opts = ReportOptions(location=_location(args), star_scale=args.star_scale,
                         tasks=tuple(args.task) if args.task else None, title=args.title)
    out = args.output or DEFAULT_FILES.get(args.format, "-")
    if args.format in DIRECTORY_FORMATS and out != "-":
        return _write_folder(args.format, [r for r in records if opts.tasks is None or r.task in opts.tasks], out)
    text = render(args.format, records, opts)
    if out == "-":
        sys.stdout.write(text)
        return 0
    Path(out).write_text(text, encoding="utf-8")
    print(f"wrote {out} ({args.format}, {len(records)} finished runs from {path})", file=sys.stderr)
    return 0


def _write_folder(fmt: str, records: list, out: str) -> int:
    """A format that is a set of files (aienergyscore): ``-o`` names the folder to write them in."""
    import importlib
    from pathlib import Path

    from wattprint.report.formats import DIRECTORY_FORMATS

    module, func = DIRECTORY_FORMATS[fmt].split(":")
    paths = getattr(importlib.import_module(module), func)(records, Path(out))
    print(f"wrote {len(paths)} files under {out} ({fmt})", file=sys.stderr)
    return 0
