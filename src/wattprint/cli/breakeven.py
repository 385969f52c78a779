"""``wattprint breakeven``: after how many inferences has serving a model used as much energy as training it?"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from wattprint.cli.args import number, store_file

HELP = "inferences (and days at a query rate) after which inference energy equals training energy"
DESCRIPTION = (
    "Training energy: --training-kwh, or --model looked up in wattprint's table of published figures "
    "(--list shows it). Per-inference energy: --wh-per-1000 or --kwh-per-inference, or the store's mean for "
    "--model (or --store-model). Prints the break-even number of inferences and, with --queries-per-day, "
    "how many days that takes."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model",
                        help="model: its training energy from the table, its inference energy from the store")
    parser.add_argument("--training-kwh", type=number(above=0, example="--training-kwh 433000"), metavar="KWH",
                        help="training energy in kWh (instead of the table)")
    parser.add_argument("--no-finetuning", action="store_true",
                        help="count the table's training energy only, not its finetuning energy")
    given = parser.add_mutually_exclusive_group()  # two figures of the same energy: one would be dropped
    given.add_argument("--wh-per-1000", type=number(above=0, example="--wh-per-1000 0.5"), metavar="WH",
                       help="inference energy in Wh per 1,000 inferences")
    given.add_argument("--kwh-per-inference", type=number(above=0, example="--kwh-per-inference 1e-4"),
                       metavar="KWH", help="inference energy in kWh per inference")
    parser.add_argument("--store", metavar="PATH", default=None, type=store_file(),
                        help="store for the inference energy (default wattprint.db)")
    parser.add_argument("--store-model", help="take the inference energy of this model in the store (default --model)")
    parser.add_argument("--task", help="the task of the store's runs, if the model ran several")
    parser.add_argument("--queries-per-day", type=number(above=0, example="--queries-per-day 1e6"), metavar="N",
                        help="query rate, for the number of days")
    parser.add_argument("--list", action="store_true", help="show the table of published training energies")
    parser.add_argument("--json", action="store_true", help="print JSON (a break-even beyond any number is "
                        "\"never\": true with null counts)")


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


def _task(name: str | None) -> str | None:
    """The registry's name of --task (an alias resolved); an unknown name gets the close matches."""
    from wattprint.core.errors import UnknownNameError
    from wattprint.tasks.registry import ALIASES, TASKS

    if name is None or ALIASES.get(name, name) in TASKS:
        return ALIASES.get(name, name) if name else None
    raise UnknownNameError("task", name, list(TASKS) + list(ALIASES), fix="run `wattprint tasks` for the list")


def _inference(args: argparse.Namespace) -> tuple[float, str]:
    from wattprint.cli.args import check_store
    from wattprint.core.errors import ConfigError
    from wattprint.report.breakeven import store_kwh_per_inference
    from wattprint.store.sqlite import DEFAULT_PATH, Store

    if args.kwh_per_inference is not None:
        return args.kwh_per_inference, "given (--kwh-per-inference)"
    if args.wh_per_1000 is not None:
        return args.wh_per_1000 / 1000.0 / 1000.0, "given (--wh-per-1000)"
    model = args.store_model or args.model
    if not model:
        raise ConfigError("no inference energy", "pass --wh-per-1000 WH, or --model with a store that ran it")
    task = _task(args.task)
    path = args.store or DEFAULT_PATH
    check_store(path, f"pass --store PATH of a store that ran {model}, or --wh-per-1000 WH")
    with Store(path, readonly=True) as store:
        found = store_kwh_per_inference(store, model, task)
        store.print_notices()
        return found


NEVER = "training energy over per-inference energy exceeds the largest number (about 1.8e308 inferences)"
NEVER_DAYS = "at this query rate the days exceed the largest number (about 1.8e308)"


def _json_doc(be: Any) -> dict[str, Any]:
    """The break-even as JSON: a count too large for a number is said explicitly ("never": true, null counts),
    never written as Infinity (which JSON does not have)."""
    doc = be.to_dict()
    note = None
    if not math.isfinite(be.inferences):
        note = NEVER
    elif be.days is not None and not math.isfinite(be.days):
        note = NEVER_DAYS
    for key in ("inferences", "days", "years"):
        if isinstance(doc.get(key), float) and not math.isfinite(doc[key]):
            doc[key] = None
    return doc | {"never": note is not None, "note": note}


def _print_table() -> None:
    from wattprint.report.breakeven import training_table

    for f in training_table():
        ft = f" + {f.finetuning_kwh:,.0f} finetuning" if f.finetuning_kwh else ""
        print(f"{f.model:16} {f.training_kwh:>12,.0f} kWh{ft} ({f.basis}) - {f.source}")


def run(args: argparse.Namespace) -> int:
    from wattprint.report.breakeven import break_even

    if args.list:
        _print_table()
        return 0
    tk, tsrc = _training(args)
    ik, isrc = _inference(args)
    be = break_even(tk, ik, args.queries_per_day, tsrc, isrc)
    if args.json:
        print(json.dumps(_json_doc(be), indent=2, allow_nan=False))
        return 0
    _print_result(be, args.queries_per_day)
    return 0


def _fixed(x: float, decimals: int = 0) -> str:
    """``x`` with thousands separators and ``decimals`` places where that reads (1,234.5); a number too large
    or too small for it (1e300 would print 301 digits, 1e-300 as 0) in significant digits instead."""
    from wattprint.report.fmt import sig

    return f"{x:,.{decimals}f}" if x == 0 or 10.0 ** -decimals <= abs(x) < 1e15 else sig(x)


def _print_result(be: Any, rate: float | None) -> None:
    from wattprint.report.fmt import count, sig

    tk = be.training_kwh
    print(f"training energy:  {_fixed(tk)} kWh  [{be.training_source}]")
    ik = be.kwh_per_inference
    print(f"inference energy: {sig(ik)} kWh per inference = {sig(ik * 1e6)} Wh per 1,000  [{be.inference_source}]")
    if not math.isfinite(be.inferences):
        print(f"break-even never: {NEVER}")
        return
    n = be.inferences
    print(f"break-even after {count(n)} inferences ({n:,.0f})" if n < 1e15 else f"break-even after {sig(n)} inferences")
    if be.days is None or rate is None:
        return
    if not math.isfinite(be.days):
        print(f"at {sig(rate)} queries per day: never ({NEVER_DAYS})")
        return
    print(f"at {_fixed(rate)} queries per day: {_fixed(be.days, 1)} days ({_fixed(be.days / 365.25, 2)} years)")
