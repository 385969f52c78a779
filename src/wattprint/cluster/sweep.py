"""Run a sweep plan: expand it, connect to Ray, run every job, return the counts.

The library entry point behind ``wattprint sweep``::

    from wattprint.cluster.plan import load_plan
    from wattprint.cluster.sweep import run_sweep
    from wattprint.store.sqlite import Store

    with Store("sweep.db") as store:
        result = run_sweep(load_plan("examples/sweep-quick.toml"), store)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from wattprint.cluster.driver import SweepDriver, SweepResult
from wattprint.cluster.plan import SweepJob, SweepPlan, expand_plan
from wattprint.cluster.session import check_feasible, ray_session


def run_sweep(
    plan: SweepPlan,
    store: Any,
    *,
    address: str | None = None,
    display: Any = None,
    verbose: bool = False,
    jobs: Sequence[SweepJob] | None = None,
    on_event: Callable[[str, dict[str, Any]], None] | None = None,
    payload_options: dict[str, Any] | None = None,
) -> SweepResult:
    """Run every job of ``plan`` not already finished in ``store``; see :class:`SweepDriver`.

    ``address`` joins a running Ray cluster; without it a local instance is started (and stopped at
    the end), unless this process is already connected to Ray. Raises :class:`ConfigError` for a plan
    that names unknown presets, tasks or models, or that needs more than any node has.
    """
    jobs = list(jobs) if jobs is not None else expand_plan(plan)
    driver = SweepDriver(jobs, store, display=display, on_event=on_event, payload_options=payload_options)
    done = store.done_keys()
    if all(set(sj.plan_keys) <= done for sj in jobs):
        return driver.run()  # nothing left to run: every job is skipped, no Ray instance is needed
    with ray_session(address, plan.ray, verbose=verbose) as ray:
        check_feasible(ray, jobs)
        return driver.run()
