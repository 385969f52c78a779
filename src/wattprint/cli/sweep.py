"""``wattprint sweep PLAN``: run a benchmark plan on Ray, one job per model and task, into the store."""

from __future__ import annotations

import argparse
import signal
import sys

from wattprint.cli.args import store_file

HELP = "run a benchmark plan (TOML/YAML) on a Ray cluster or a local Ray instance"
DESCRIPTION = (
    "Run every job of a sweep plan (presets x tasks x models x settings) as Ray tasks, each reserving its "
    "CPUs or whole GPUs and measuring only its own GPUs (by UUID). Records stream into the store as each "
    "repeat ends; a re-run skips what finished; Ctrl-C cancels and keeps what finished."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("plan", help="plan file (.toml, .yaml or .yml); see docs/sweep.md")
    parser.add_argument("--ray-address", metavar="ADDR", default=None,
                        help="join this Ray cluster (e.g. auto, 10.0.0.1:6379); default: start a local instance")
    parser.add_argument("--store", metavar="PATH", default=None, type=store_file(),
                        help="SQLite store (default: the plan's `store`, else wattprint.db)")
    parser.add_argument("--progress", choices=("auto", "rich", "lines", "none"), default="auto",
                        help="rich bar, a line per job, or nothing (default: rich on a terminal)")
    parser.add_argument("--dry-run", action="store_true", help="list the jobs and what each reserves, run nothing")


def run(args: argparse.Namespace) -> int:
    from wattprint.cluster.plan import expand_plan, load_plan
    from wattprint.cluster.progress import make_display
    from wattprint.core.units import format_energy
    from wattprint.store.sqlite import DEFAULT_PATH, Store

    plan = load_plan(args.plan)
    jobs = expand_plan(plan)
    store_path = args.store or plan.store or DEFAULT_PATH
    if args.dry_run:
        for sj in jobs:
            print(f"{sj.label}: {len(sj.keys)} repeats, reserves {sj.resources.to_dict()}")
        print(f"{len(jobs)} jobs; store {store_path}")
        return 0
    from wattprint.cluster.session import check_reachable
    from wattprint.cluster.sweep import run_sweep

    if args.ray_address:
        check_reachable(args.ray_address)  # before the store is created: a bad address writes nothing
    with Store(store_path) as store:
        display = make_display(f"sweep {plan.name}", "none" if args.quiet else args.progress)
        result = run_sweep(plan, store, address=args.ray_address, display=display, jobs=jobs, verbose=args.verbose)
    c = result.counts
    print(
        f"sweep {plan.name}: {c.jobs_done} jobs done, {c.jobs_failed} failed, {c.jobs_skipped} skipped as finished; "
        f"{c.repeats_finished} repeats finished, {c.repeats_failed} failed, {c.repeats_aborted} aborted; "
        f"{format_energy(c.energy_j)} measured in {result.duration_s:.1f} s; store {store_path}"
    )
    if result.interrupted:
        print("sweep interrupted: finished repeats are kept; run the same plan again to go on", file=sys.stderr)
        return 128 + int(result.signum or signal.SIGINT)
    return 1 if c.jobs_failed else 0
