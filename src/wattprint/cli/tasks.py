"""`wattprint tasks`: the task registry (name, version, modality, datasets, smallest catalog model), and with
``--params`` the parameters each task declares (what presets set in ``params`` and ``--param`` sets)."""

from __future__ import annotations

import argparse
import json
from typing import Any

HELP = "list the benchmark tasks"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--params", action="store_true",
                        help="list each task's parameters (set with params = {...} in a preset or --param NAME=VALUE)")


def _param_rows(task: Any) -> list[dict[str, Any]]:
    return [{"name": p.name, "type": p.kind, "default": p.default, "help": p.help, "at_load": p.load,
             "allowed": p.describe() + (f", at most {p.at_most}" if p.at_most else "")} for p in task.param_specs]


def run(args: argparse.Namespace) -> int:
    from wattprint.models.catalog import entries, smallest
    from wattprint.tasks.registry import get_task, task_names

    rows: list[dict[str, Any]] = []
    for name in task_names():
        task = get_task(name)
        models = entries(name)
        small = smallest(name) if models else None
        rows.append({
            "task": name, "version": task.version, "title": task.title, "modality": task.modality,
            "generative": task.generative, "unit": task.unit, "datasets": [d.name for d in task.datasets],
            "models": len(models), "smallest": small.name if small else None, "params": _param_rows(task),
        })
    if args.json:
        print(json.dumps(rows, indent=2))
    elif args.params:
        _print_params(rows)
    else:
        print(f"{'task':30} {'ver':>3}  {'models':>6}  {'smallest':24} datasets")
        for r in rows:
            datasets = ", ".join(r["datasets"])
            print(f"{r['task']:30} {r['version']:>3}  {r['models']:>6}  {r['smallest'] or '-':24} {datasets}")
    return 0


def _print_params(rows: list[dict[str, Any]]) -> None:
    """One block per task: name, default, allowed values, help ("at load": read when the model is built)."""
    for r in rows:
        print(f"{r['task']}:" + ("" if r["params"] else " no parameters"))
        for p in r["params"]:
            default = "none" if p["default"] is None else json.dumps(p["default"])
            load = "; at load" if p["at_load"] else ""
            print(f"  {p['name']:24} default {default:8} {p['allowed']}{load}")
            print(f"  {'':24} {p['help']}")
