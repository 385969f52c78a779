"""`wattprint tasks`: the task registry (name, version, modality, datasets, smallest catalog model)."""

from __future__ import annotations

import argparse
import json
from typing import Any

HELP = "list the benchmark tasks"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


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
            "models": len(models), "smallest": small.name if small else None,
        })
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'task':30} {'ver':>3}  {'models':>6}  {'smallest':24} datasets")
    for r in rows:
        datasets = ", ".join(r["datasets"])
        print(f"{r['task']:30} {r['version']:>3}  {r['models']:>6}  {r['smallest'] or '-':24} {datasets}")
    return 0
