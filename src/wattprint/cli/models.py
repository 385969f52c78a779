"""`wattprint models [--task T] [--study] [--json]`: the model catalog, grouped by task (hub id, parameters,
kind; `*` marks the models of the Power Hungry Processing study)."""

from __future__ import annotations

import argparse
import json
from typing import Any

HELP = "list the model catalog"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", help="only models for this task (see `wattprint tasks`)")
    parser.add_argument("--study", action="store_true",
                        help="only the models of the Power Hungry Processing study (Luccioni et al. 2024)")
    parser.add_argument("--json", action="store_true", help="print JSON (every field: notes, aliases...) instead")


def _params(n: int | None) -> str:
    if not n:
        return "?"
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if n >= div:
            return f"{n / div:.3g}{suffix}"
    return str(n)


def _groups(found: list[Any], task: str | None) -> dict[str, list[Any]]:
    """Entries by task: the asked task, or each entry's main task."""
    groups: dict[str, list[Any]] = {}
    for e in found:
        groups.setdefault(task or e.task, []).append(e)
    return groups


def _print_table(found: list[Any], task: str | None) -> None:
    wn = max((len(e.name) for e in found), default=4)
    wh = max((len(e.hub_id) for e in found), default=6)
    for group, rows in _groups(found, task).items():
        n_study = sum(e.study for e in rows)
        print(f"\n{group}: {len(rows)} models ({n_study} from the study), smallest first")
        for e in sorted(rows, key=lambda e: e.parameters or 0):
            others = [t for t in e.tasks if t != group]
            also = f"  also {others[0]}" if len(others) == 1 else f"  +{len(others)} tasks" if others else ""
            mark = "*" if e.study else " "
            print(f" {mark} {e.name:{wn}}  {e.hub_id:{wh}}  {_params(e.parameters):>6}  {e.kind:15}{also}".rstrip())


def run(args: argparse.Namespace) -> int:
    from wattprint.models.catalog import entries
    from wattprint.tasks.registry import ALIASES, get_task

    task = None
    if args.task:
        task = get_task(args.task).name  # unknown -> one clear line with close matches
        task = ALIASES.get(task, task)
    found = entries(task, study=True if args.study else None)
    if args.json:
        print(json.dumps([e.to_dict() for e in found], indent=2))
        return 0
    _print_table(found, task)
    n_study = sum(e.study for e in found)
    print(f"\n{len(found)} models" + (f" for {task}" if task else "") +
          f", {n_study} from the Power Hungry Processing study (*; `--study` lists only those).")
    print("Parameters: what the kept architecture builds; `--json` adds the published and study figures "
          "and how they count.")
    return 0
