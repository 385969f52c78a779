"""Did two reference lanes on two cards of one host disturb each other? Read from their stores.

``device_run.sh lanes`` runs two reference parts at once, one per card. Each card's counter sees only its own card,
but the lanes share the host (CPU, memory bandwidth), which batch-1 loops depend on. This compares every repeat's
GPU energy per input, relative to the median of its own job, between the repeats that ran while the other lane was
measuring and those that ran while it was not (loading, warming up or finished). Equal distributions mean no
disturbance the repeats can show; a shift would say how much.

    python benchmarks/lane_check.py call2/lane0.db call2/lane1.db     # (the stores in the run archive)
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))


def load(path: str) -> list[Any]:
    """The finished runs of a wattprint store, opened read-only (nothing is written, a wrong path is refused)."""
    from wattprint.store.sqlite import Store

    with Store(path, readonly=True) as store:
        return store.runs()


def relative_energy(runs: list[Any], other: list[Any]) -> tuple[list[float], list[float]]:
    """Each repeat's GPU J per input over its job's median: (while ``other`` measured, while it did not)."""
    jobs: dict[tuple[str, str, str], list[Any]] = {}
    for r in runs:
        if r.gpu_energy_j is not None and r.inferences:
            jobs.setdefault((r.preset, r.task, r.model), []).append(r)
    busy, idle = [], []
    for rs in jobs.values():
        values = [r.gpu_energy_j / r.inferences for r in rs]
        median = statistics.median(values)
        for r, v in zip(rs, values):
            overlap = any(o.started_at < r.finished_at and o.finished_at > r.started_at for o in other)
            (busy if overlap else idle).append(v / median)
    return busy, idle


def describe(values: list[float]) -> str:
    if len(values) < 2:
        return f"n={len(values)}"
    v = sorted(values)
    return (f"n={len(v)}, mean {statistics.fmean(v):.3f}, sd {statistics.stdev(v):.3f}, "
            f"p10 {v[len(v) // 10]:.3f}, median {statistics.median(v):.3f}, p90 {v[9 * len(v) // 10]:.3f}")


def shift(busy: list[float], idle: list[float]) -> tuple[float, float] | None:
    """Mean of ``busy`` minus mean of ``idle`` and its 95% half-width (Welch, normal approximation)."""
    if len(busy) < 2 or len(idle) < 2:
        return None
    d = statistics.fmean(busy) - statistics.fmean(idle)
    se = (statistics.variance(busy) / len(busy) + statistics.variance(idle) / len(idle)) ** 0.5
    return d, 1.96 * se


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("stores", nargs=2, help="the two lanes' stores")
    args = p.parse_args(argv)
    from wattprint.core.errors import WattprintError

    try:
        lanes = [load(s) for s in args.stores]
    except WattprintError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print("GPU energy per input of each repeat over its job's median, while the other lane measured or not")
    for k, path in enumerate(args.stores):
        busy, idle = relative_energy(lanes[k], lanes[1 - k])
        s = shift(busy, idle)
        print(f"{path}: other lane measuring: {describe(busy)}")
        print(f"{path}: other lane not:       {describe(idle)}")
        if s:
            print(f"{path}: shift {s[0]:+.3f} ± {s[1]:.3f} (95%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
