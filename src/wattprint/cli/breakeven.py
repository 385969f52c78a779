"""``wattprint breakeven``: after how many inferences has serving a model used as much energy as training it?"""

from __future__ import annotations

import argparse
import json

HELP = "inferences (and days at a query rate) after which inference energy equals training energy"
DESCRIPTION = (
    "Training energy: --training-kwh, or --model looked up in wattprint's table of published figures "
    "(--list shows it). Per-inference energy: --wh-per-1000 or --kwh-per-inference, or the store's mean for "
    "--model (or --store-model). Prints the break-even number of inferences and, with --queries-per-day, "
    "how many days that takes."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="model: its training energy from the table, its inference energy from the store")
    parser.add_argument("--training-kwh", type=float, help="training energy in kWh (instead of the table)")
    parser.add_argument("--no-finetuning", action="store_true",
                        help="count the table's training energy only, not its finetuning energy")
    parser.add_argument("--wh-per-1000", type=float, help="inference energy in Wh per 1,000 inferences")
    parser.add_argument("--kwh-per-inference", type=float, help="inference energy in kWh per inference")
    parser.add_argument("--store", metavar="PATH", default=None, help="store for the inference energy (default wattprint.db)")
    parser.add_argument("--store-model", help="take the inference energy of this model in the store (default --model)")
    parser.add_argument("--task", help="the task of the store's runs, if the model ran several")
    parser.add_argument("--queries-per-day", type=float, help="query rate, for the number of days")
    parser.add_argument("--list", action="store_true", help="show the table of published training energies")
    parser.add_argument("--json", action="store_true", help="print JSON")


def _training(args: argparse.Namespace) -> tuple[float, str]:
    from wattprint.core.errors import ConfigError
    from wattprint.report.breakeven import training_figure

    if args.training_kwh is not None:
        return args.training_kwh, "given (--training-kwh)"
    if not args.model:
        raise ConfigError("no training energy", "pass --training-kwh KWH or --model NAME (see --list)")
    f = training_figure(args.model)
    what = "training" if args.no_finetuning or not f.finetuning_kwh else "training + finetuning"
    return f.total_kwh(not args.no_finetuning), f"{f.model} {what} ({f.basis}): {f.source}"


def _inference(args: argparse.Namespace) -> tuple[float, str]:
    from pathlib import Path

    from wattprint.core.errors import ConfigError
    from wattprint.report.breakeven import store_kwh_per_inference
    from wattprint.store.sqlite import DEFAULT_PATH, Store

    if args.kwh_per_inference is not None:
        return args.kwh_per_inference, "given (--kwh-per-inference)"
    if args.wh_per_1000 is not None:
        return args.wh_per_1000 / 1000.0 / 1000.0, "given (--wh-per-1000)"
    model = args.store_model or args.model
    path = args.store or DEFAULT_PATH
    if not model or not Path(path).exists():
        raise ConfigError("no inference energy", "pass --wh-per-1000 WH, or --model with a store that ran it")
    with Store(path, readonly=True) as store:
        found = store_kwh_per_inference(store, model, args.task)
        store.print_notices()
        return found


def _print_table() -> None:
    from wattprint.report.breakeven import training_table

    for f in training_table():
        ft = f" + {f.finetuning_kwh:,.0f} finetuning" if f.finetuning_kwh else ""
        print(f"{f.model:16} {f.training_kwh:>12,.0f} kWh{ft} ({f.basis}) - {f.source}")


def run(args: argparse.Namespace) -> int:
    from wattprint.report.breakeven import break_even
    from wattprint.report.fmt import count, sig

    if args.list:
        _print_table()
        return 0
    tk, tsrc = _training(args)
    ik, isrc = _inference(args)
    be = break_even(tk, ik, args.queries_per_day, tsrc, isrc)
    if args.json:
        print(json.dumps(be.to_dict(), indent=2))
        return 0
    print(f"training energy:  {tk:,.0f} kWh  [{tsrc}]")
    print(f"inference energy: {sig(ik)} kWh per inference = {sig(ik * 1e6)} Wh per 1,000  [{isrc}]")
    print(f"break-even after {count(be.inferences)} inferences ({be.inferences:,.0f})")
    if be.days is not None:
        print(f"at {args.queries_per_day:,.0f} queries per day: {be.days:,.1f} days ({be.days / 365.25:,.2f} years)")
    return 0
