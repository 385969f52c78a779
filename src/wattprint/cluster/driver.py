"""The sweep driver: submit every job to Ray, stream records into the store as they come, survive failures.

One Ray streaming task per job (:func:`wattprint.cluster.worker.job_events`), reserving the job's CPUs
and whole GPUs. The driver waits on all of them with ``ray.wait`` and, for each event:

- "started": writes a ``running`` row for each repeat the job will run (on the driver's store);
- "record": overwrites that row with the finished or failed record, committed at once;
- the job's end: a job whose task raised, whose worker or node died, or that ended without reporting a
  repeat has each missing repeat written as failed, with the reason;
- Ctrl-C: every job still queued or running is cancelled (``ray.cancel(force=True)`` ends its worker),
  repeats in flight are written as aborted, and what finished stays.

Only the driver writes to the store, so a store on the driver's disk serves a whole cluster. Jobs are
never retried by Ray (``max_retries=0``): a retry after a repeat was streamed would duplicate it; run
the plan again instead, which skips every repeat already finished.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from wattprint.cluster.failures import Failure, describe
from wattprint.cluster.gpus import GPU_JOB_ENV
from wattprint.cluster.plan import SweepJob
from wattprint.cluster.progress import NullDisplay, SweepCounts
from wattprint.cluster.worker import JobPayload, job_events
from wattprint.store.record import RunRecord

WAIT_TIMEOUT_S = 0.5  # how often the display refreshes (and Ctrl-C is noticed) while no job reports


class InterruptFlag:
    """While open, the first Ctrl-C (SIGINT) or SIGTERM only sets ``raised`` (and ``signum``); a second one
    interrupts as usual.

    So an event taken from Ray is always written to the store before the driver stops: a
    KeyboardInterrupt raised between the two would lose a finished repeat. Only the main thread can
    install a handler; elsewhere this does nothing and Ctrl-C raises KeyboardInterrupt as usual.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.raised = False
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def _handler(self, signum: int, frame: Any) -> None:
        self.raised, self.signum = True, signum
        self._restore()  # a second signal stops the clean-up

    def _restore(self) -> None:
        for s, h in self._previous.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)
        self._previous = {}

    def __enter__(self) -> InterruptFlag:
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._handler) for s in self.SIGNALS}
        return self

    def __exit__(self, *exc: object) -> None:
        self._restore()


@dataclass
class _JobState:
    sweep_job: SweepJob
    todo: tuple[tuple[int, str], ...]  # (repeat, plan key) still to run
    started: dict[str, Any] | None = None
    placeholders: dict[str, RunRecord] = field(default_factory=dict)  # plan key -> running row
    failed: bool = False
    last_error: str | None = None  # reason of the last failed record the job sent


@dataclass
class SweepResult:
    counts: SweepCounts
    interrupted: bool
    duration_s: float
    driver_cpu_s: float  # CPU time of the driver process over the sweep (user + system)
    signum: int | None = None  # the signal that interrupted it (SIGINT, SIGTERM), when one did

    @property
    def driver_cpu_per_job_s(self) -> float | None:
        ended = self.counts.jobs_ended
        return self.driver_cpu_s / ended if ended else None


class SweepDriver:
    """Runs the jobs of one plan on the Ray instance this process is connected to.

    ``store`` is a :class:`wattprint.store.sqlite.Store`; ``on_event(label, event)`` sees every event
    (tests use it to kill a worker mid-job); ``payload_options`` go into every
    :class:`~wattprint.cluster.worker.JobPayload` (a test runner, a simulated NVML).
    """

    def __init__(
        self,
        jobs: Sequence[SweepJob],
        store: Any,
        *,
        display: Any = None,
        on_event: Callable[[str, dict[str, Any]], None] | None = None,
        payload_options: dict[str, Any] | None = None,
    ) -> None:
        self.jobs = list(jobs)
        self.store = store
        self.display = display or NullDisplay()
        self.on_event = on_event
        self.payload_options = payload_options or {}
        self.counts = SweepCounts()
        self._refs: dict[Any, _JobState] = {}
        self._cancelling = False

    # ---- the loop ---------------------------------------------------------------------------------
    def run(self) -> SweepResult:
        t0, cpu0 = time.monotonic(), time.process_time()
        interrupted = False
        with self.display, InterruptFlag() as flag:
            try:
                self._submit_all()
                while self._refs and not flag.raised:
                    self._step()
                interrupted = flag.raised
            except KeyboardInterrupt as e:  # outside the main thread no handler is installed: Python raises
                interrupted, flag.signum = True, getattr(e, "signum", signal.SIGINT)
            if interrupted:
                how = "terminated (SIGTERM)" if flag.signum == signal.SIGTERM else "interrupted (Ctrl-C)"
                self._cancel_all(f"the sweep was {how} while this repeat ran")
            self.display.update(self.counts)
        return SweepResult(self.counts, interrupted, time.monotonic() - t0, time.process_time() - cpu0,
                           flag.signum if interrupted else None)

    def _submit_all(self) -> None:
        import ray

        remote = ray.remote(job_events)
        done = self.store.done_keys()
        for sj in self.jobs:
            todo = tuple((r, k) for r, k in sj.keys if k not in done)
            if not todo:
                self.counts.jobs_skipped += 1
                continue
            skip = tuple(k for _, k in sj.keys if k in done)
            payload = JobPayload(sj.job, sj.label, skip_keys=skip, **self.payload_options)
            options = dict(sj.resources.ray_options(), max_retries=0, name=f"wattprint-sweep {sj.label}")
            if sj.resources.num_gpus:
                options["runtime_env"] = {"env_vars": dict(GPU_JOB_ENV)}
            ref = remote.options(**options).remote(payload)
            self._refs[ref] = _JobState(sj, todo)
            self.counts.jobs_total += 1
        self.display.update(self.counts)

    def _step(self) -> None:
        import ray

        ready, _ = ray.wait(list(self._refs), num_returns=1, timeout=WAIT_TIMEOUT_S)
        for gen in ready:
            self._advance(gen)
        self.display.update(self.counts)

    def _advance(self, gen: Any) -> None:
        """Take the next event of a job whose next output is ready: handle it, or end the job."""
        import ray

        try:
            event = ray.get(next(gen))
        except StopIteration:
            self._end(gen, None)
        except ray.exceptions.RayError as e:
            self._end(gen, describe(e))
        else:
            self._handle(self._refs[gen], event)

    # ---- events -----------------------------------------------------------------------------------
    def _handle(self, state: _JobState, event: dict[str, Any]) -> None:
        if self.on_event is not None and not self._cancelling:
            self.on_event(state.sweep_job.label, event)
        if event["event"] == "started":
            self._started(state, event)
        elif event["event"] == "record":
            self._record(state, RunRecord.from_dict(event["record"]))

    def _started(self, state: _JobState, event: dict[str, Any]) -> None:
        state.started = event
        self.counts.jobs_running += 1
        for repeat, key in state.todo:
            row = self._blank(state, repeat, key, "running")
            self.store.start(row)
            state.placeholders[key] = row

    def _record(self, state: _JobState, record: RunRecord) -> None:
        row = state.placeholders.pop(record.plan_key, None)
        if row is not None:
            record.run_id = row.run_id  # the record replaces its running row
        self.store.add(record)
        if record.status == "finished":
            self.counts.repeats_finished += 1
            self.counts.energy_j += record.energy_j
        else:
            state.failed, state.last_error = True, record.error
            self.counts.repeats_failed += 1

    def _end(self, gen: Any, failure: Failure | None) -> None:
        state = self._refs.pop(gen)
        if failure is None and state.placeholders:
            reason = (f"not run: {state.last_error}" if state.last_error
                      else "the job ended without reporting this repeat")
            failure = Failure("failed", reason)
        if failure is not None:
            self._write_missing(state, failure)
        if state.started is not None:
            self.counts.jobs_running -= 1
        if state.failed:
            self.counts.jobs_failed += 1
        else:
            self.counts.jobs_done += 1
        if failure is not None:
            self.display.note(f"{state.sweep_job.label}: {failure.status}: {failure.reason}")

    def _write_missing(self, state: _JobState, failure: Failure) -> None:
        """Every repeat of the job that has no final record gets one: failed or aborted, with the reason."""
        if state.started is None:  # failed before it started: no running rows yet
            state.placeholders = {k: self._blank(state, r, k, "running") for r, k in state.todo}
        for row in state.placeholders.values():
            row.status, row.error, row.finished_at = failure.status, failure.reason, time.time()
            self.store.add(row)
            if failure.status == "aborted":
                self.counts.repeats_aborted += 1
            else:
                state.failed = True
                self.counts.repeats_failed += 1
        state.placeholders = {}

    def _cancel_all(self, reason: str) -> None:
        import ray

        self._cancelling = True
        for gen, state in list(self._refs.items()):
            self._drain(gen)  # records already streamed back are kept, not aborted
            if gen not in self._refs:
                continue
            try:
                ray.cancel(gen, force=True)
            except (ray.exceptions.RayError, TypeError, ValueError) as e:
                self.display.note(f"{state.sweep_job.label}: could not cancel: {e}")
            if state.started is not None:
                self._write_missing(state, Failure("aborted", reason))
                self.counts.jobs_running -= 1
            self._refs.pop(gen)

    def _drain(self, gen: Any) -> None:
        """Handle the events of ``gen`` that have already arrived, without waiting for more."""
        import ray

        while gen in self._refs:
            ready, _ = ray.wait([gen], num_returns=1, timeout=0)
            if not ready:
                return
            self._advance(gen)

    def _blank(self, state: _JobState, repeat: int, key: str, status: str) -> RunRecord:
        """A record of a repeat that has not reported: identity, settings and where it runs."""
        job, started = state.sweep_job.job, state.started or {}
        return RunRecord(
            task=job.task, model=job.model, preset=job.preset, repeat=repeat, plan_key=key, status=status,
            origin="sweep", started_at=time.time(), dataset=getattr(job, "dataset", "") or "",
            settings=dict(getattr(job, "settings", {}) or {}),
            node=started.get("host"), gpu_uuids=list(started.get("gpus", {}).get("uuids", [])),
            environment={"cluster": {k: v for k, v in started.items() if k not in ("event", "label", "host")}},
        )
