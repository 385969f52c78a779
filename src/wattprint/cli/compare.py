"""``wattprint compare``: a task-specific model against a general-purpose one prompted zero-shot."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from wattprint.cli.args import (
    integer,
    output_file,
    require_device,
    same_file,
    store_file,
    write_output,
)
from wattprint.core.errors import ConfigError

HELP = "task-specific vs general-purpose (zero-shot) models on one task: energy, ratio, accuracy"
DESCRIPTION = (
    "Run each model through the benchmark runner on the same task and protocol (general-purpose models are "
    "prompted zero-shot by the task) and print energy per 1,000 inferences, the ratio, and accuracy or ROUGE "
    "where weights and labels are real. Runs are kept in the store; --from-store compares stored runs."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from wattprint.bench.compare import COMPARE_TASKS

    count = integer(minimum=1, example="--repeats 3")
    parser.add_argument("--task", required=True, choices=COMPARE_TASKS,
                        help="the task both kinds of model run (general-purpose ones are prompted zero-shot)")
    parser.add_argument("--specific", action="append", required=True, metavar="MODEL",
                        help="task-specific model (repeatable)")
    parser.add_argument("--general", action="append", required=True, metavar="MODEL",
                        help="general-purpose model (repeatable)")
    parser.add_argument("--preset", default="quick", help="benchmark protocol (default: quick)")
    parser.add_argument("--samples", type=integer(minimum=1, example="--samples 100"), metavar="N",
                        help="inputs per repeat (default: the preset's)")
    parser.add_argument("--repeats", type=count, metavar="N",
                        help="repeats per model (default: the preset's, at least 3: the ratio's interval)")
    parser.add_argument("--workload", choices=("auto", "dataset", "synthetic"), help="inputs (default: the preset's)")
    parser.add_argument("--device", help="cpu, cuda, cuda:1 (default: the preset's; checked before anything loads)")
    parser.add_argument("--store", metavar="PATH", default=None, type=store_file(),
                        help="SQLite store (default: wattprint.db)")
    parser.add_argument("--from-store", action="store_true", help="compare the store's runs, run nothing")
    parser.add_argument("-o", "--output", metavar="FILE", type=output_file(".html"),
                        help="also write an HTML page with the chart")
    parser.add_argument("--json", action="store_true", help="print JSON")


def _overrides(args: argparse.Namespace) -> dict:
    keys = {"samples": args.samples, "repeats": args.repeats, "workload": args.workload, "device": args.device}
    return {k: v for k, v in keys.items() if v is not None}


def _check_before_running(req: Any) -> None:
    """Model names, preset and devices, before the store opens or any model loads."""
    from wattprint.bench.plan import expand

    jobs = expand(req.preset, [req.task], list(req.specific) + list(req.general), req.overrides)
    for device in sorted({j.settings["device"] for j in jobs}):
        require_device(device)


def _check_stored_models(req: Any, records: list[Any]) -> None:
    """A model the store never ran on the task: an error with the stored models closest to it."""
    from wattprint.core.errors import UnknownNameError

    stored = sorted({r.model for r in records})
    for m in list(req.specific) + list(req.general):
        if m not in stored:
            raise UnknownNameError(f"model in the store's {req.task} runs", m, stored,
                                   fix="run it first (wattprint compare without --from-store), or see "
                                       "wattprint export --task " + req.task)


def run(args: argparse.Namespace) -> int:
    from wattprint.bench.compare import CompareRequest, run_jobs
    from wattprint.bench.progress import make_progress
    from wattprint.report.compare import comparison_from_records
    from wattprint.report.compare_view import to_html, to_text
    from wattprint.store.sqlite import DEFAULT_PATH, Store

    req = CompareRequest(args.task, tuple(args.specific), tuple(args.general), args.preset, _overrides(args))
    store_path = args.store or DEFAULT_PATH
    if args.output and same_file(args.output, store_path):
        raise ConfigError(f"-o {args.output} is the store itself", "pick another file for the HTML page")
    if not args.from_store:
        _check_before_running(req)
    with Store(store_path, readonly=args.from_store) as store:
        if args.from_store:
            records = store.runs(task=args.task, status=None)
            store.print_notices()
            _check_stored_models(req, records)
            result = comparison_from_records(req, records)
        else:
            progress = make_progress(not args.quiet, title="wattprint compare")  # which model and repeat, on stderr
            result = comparison_from_records(req, run_jobs(req, store=store, progress=progress))
    print(json.dumps(result.to_dict(), indent=2, default=str) if args.json else to_text(result), end="")
    if args.output:
        write_output(args.output, to_html(result), what="HTML page", suffix=".html")
        print(f"wrote {args.output}", file=sys.stderr)
    return 0
