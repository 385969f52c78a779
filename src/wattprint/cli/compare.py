"""``wattprint compare``: a task-specific model against a general-purpose one prompted zero-shot."""

from __future__ import annotations

import argparse
import json
import sys

HELP = "task-specific vs general-purpose (zero-shot) models on one task: energy, ratio, accuracy"
DESCRIPTION = (
    "Run each model through the benchmark runner on the same task and protocol (general-purpose models are "
    "prompted zero-shot by the task) and print energy per 1,000 inferences, the ratio, and accuracy or ROUGE "
    "where weights and labels are real. Runs are kept in the store; --from-store compares stored runs."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from wattprint.report.compare import COMPARE_TASKS

    parser.add_argument("--task", required=True, choices=COMPARE_TASKS)
    parser.add_argument("--specific", action="append", required=True, metavar="MODEL", help="task-specific model (repeatable)")
    parser.add_argument("--general", action="append", required=True, metavar="MODEL", help="general-purpose model (repeatable)")
    parser.add_argument("--preset", default="quick", help="benchmark protocol (default: quick)")
    parser.add_argument("--samples", type=int, help="inputs per repeat (default: the preset's)")
    parser.add_argument("--repeats", type=int,
                        help="repeats per model (default: the preset's, at least 3: the ratio's interval)")
    parser.add_argument("--workload", choices=("auto", "dataset", "synthetic"), help="inputs (default: the preset's)")
    parser.add_argument("--device", help="cpu, cuda, cuda:1 (default: the preset's)")
    parser.add_argument("--store", metavar="PATH", default=None, help="SQLite store (default: wattprint.db)")
    parser.add_argument("--from-store", action="store_true", help="compare the store's runs, run nothing")
    parser.add_argument("-o", "--output", metavar="FILE", help="also write an HTML page with the chart")
    parser.add_argument("--json", action="store_true", help="print JSON")


def _overrides(args: argparse.Namespace) -> dict:
    keys = {"samples": args.samples, "repeats": args.repeats, "workload": args.workload, "device": args.device}
    return {k: v for k, v in keys.items() if v is not None}


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from wattprint.bench.progress import make_progress
    from wattprint.report.compare import CompareRequest, comparison_from_records, run_compare
    from wattprint.report.compare_view import to_html, to_text
    from wattprint.store.sqlite import DEFAULT_PATH, Store

    req = CompareRequest(args.task, tuple(args.specific), tuple(args.general), args.preset, _overrides(args))
    with Store(args.store or DEFAULT_PATH, readonly=args.from_store) as store:
        if args.from_store:
            result = comparison_from_records(req, store.runs(task=args.task))
            store.print_notices()
        else:
            progress = make_progress(not args.quiet, title="wattprint compare")  # which model and repeat, on stderr
            result = run_compare(req, store=store, progress=progress)
    if args.output:
        Path(args.output).write_text(to_html(result), encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    print(json.dumps(result.to_dict(), indent=2, default=str) if args.json else to_text(result), end="")
    return 0
