"""``wattprint doctor``: every energy source on this machine, available or not, why not, how to fix."""

from __future__ import annotations

import argparse
import json
import sys

from wattprint.core.table import aligned

HELP = "list every energy source on this machine: available or not, why, and how to fix it"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the probes as JSON")
    p.add_argument("--powercap-root", default="/sys/class/powercap", help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    from wattprint.meter.discover import probes

    found = probes(powercap_root=args.powercap_root)
    if args.json:
        json.dump([p.to_dict() for p in found], sys.stdout, indent=2)
        print()
        return 0
    rows = [("source", "state", "method", "measures / reason")]
    for p in found:
        state = "used" if p.used else ("available" if p.available else "unavailable")
        what = "; ".join(p.components) if p.available else p.reason
        rows.append((p.source, state, p.method, what))
    print("\n".join(aligned(rows, free_last=True)))
    for p in found:
        if p.available and p.reason:
            print(f"\n{p.source}: {p.reason}")
        if p.fix:
            print(f"\n{p.source} fix: {p.fix}")
    return 0
