"""`wattprint models [--task T] [--json]`: the model catalog (hub id, task, kind, published parameters)."""

from __future__ import annotations

import argparse
import json

HELP = "list the model catalog"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", help="only models for this task (see `wattprint tasks`)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _params(n: int | None) -> str:
    if not n:
        return "?"
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if n >= div:
            return f"{n / div:.3g}{suffix}"
    return str(n)


def run(args: argparse.Namespace) -> int:
    from wattprint.models.catalog import entries
    from wattprint.tasks.registry import ALIASES, get_task

    task = None
    if args.task:
        task = get_task(args.task).name  # unknown -> one clear line with close matches
        task = ALIASES.get(task, task)
    found = entries(task)
    if args.json:
        print(json.dumps([e.to_dict() for e in found], indent=2))
        return 0
    print(f"{'name':38} {'hub id':58} {'params':>7}  {'kind':15} tasks")
    for e in found:
        print(f"{e.name:38} {e.hub_id:58} {_params(e.parameters):>7}  {e.kind:15} {', '.join(e.tasks)}")
    print(f"{len(found)} models" + (f" for {task}" if task else ""))
    return 0
