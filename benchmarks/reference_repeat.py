"""Repeats until the interval is tight: one reference job, measured through the bench runner's own API.

The rule (GitHub issue 16): a job runs repeats until the 95% confidence interval of its GPU energy per 1,000
inferences is within ``TARGET`` (10%) of the mean, with at least ``MIN_REPEATS`` repeats, at most
``max_repeats``, and no new repeat once the next one would end past the job's time cap. Where no GPU is
measured (a CPU smoke run) the rule reads total energy instead and says so.

How repeats are added: ``run_job`` is called once with ``max_repeats`` repeats; its ``on_record`` callback sees
every finished repeat and, once the rule is met, stops the job by raising ``StopRepeats`` (a BaseException, so
that the runner, which has already written that repeat to the store as finished, lets it through without marking
anything failed or aborted). The model is loaded once. A later call for the same job (another part, another
machine) adds repeats into the same store: plan keys leave the repeat count out, so the finished ones are skipped
and the new ones aggregate with them, as long as the settings are the same.

Each job also records the other processes on its GPU (``nvmlDeviceGetComputeRunningProcesses``) before and after,
in a sidecar JSON next to the store, so that rows measured beside another job are flagged.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from wattprint.bench.progress import NullProgress

TARGET = 0.10
MIN_REPEATS = 3
REPEAT_SECONDS = 2.5  # each repeat's inputs are sized to this (counter-resolved: >= 20 of its ~0.1 s updates)


class StageClock(NullProgress):
    """A runner progress hook that times a job's stages: where the seconds outside its repeats go. The runner
    names each stage before it starts ("loading the model", "building 40 inputs (synthetic)", "warm-up (...)",
    "preprocessing ..."); a stage lasts until the next stage or the first repeat. ``start`` is what comes before the
    first stage (environment snapshot, meter start), ``repeats`` the first repeat's start to the job's end."""

    def __init__(self, clock=time.monotonic) -> None:
        self.clock = clock
        self.seconds: dict[str, float] = {}
        self._name, self._t = "start", clock()

    def _switch(self, name: str) -> None:
        now = self.clock()
        self.seconds[self._name] = self.seconds.get(self._name, 0.0) + now - self._t
        self._name, self._t = name, now

    def job_started(self, label: str, repeats: int) -> None:
        self._name, self._t = "start", self.clock()

    def stage(self, text: str) -> None:
        self._switch(text.split(" (")[0].split(" ")[0] if not text.startswith("idle") else "idle baseline")

    def repeat_started(self, repeat: int, repeats: int, inputs: int) -> None:
        if self._name != "repeats":
            self._switch("repeats")

    def job_finished(self, label: str, summary: str) -> None:
        self._switch("end")

    def rounded(self) -> dict[str, float]:
        return {k: round(v, 2) for k, v in self.seconds.items()}


def figure(r: Any) -> float | None:
    """What the rule reads of a run: GPU Wh per 1,000 where a GPU was measured, else the total (a CPU run)."""
    return r.gpu_wh_per_1000 if r.gpu_wh_per_1000 is not None else r.wh_per_1000


class StopRepeats(BaseException):
    """Raised from ``on_record`` to end a job's repeats early (not an error: see the module docstring)."""


@dataclass
class Decision:
    stop: bool
    reason: str  # "tight", "max repeats", "time cap", or "" while going on


def relative_half_width(values: list[float]) -> float | None:
    """95% CI half-width over the mean of ``values`` (Student t), None for fewer than two or a zero mean."""
    from wattprint.bench.stats import summarize

    if len(values) < 2:
        return None
    s = summarize(values)
    if not s.mean or s.ci_low is None or s.ci_high is None:
        return None
    return (s.ci_high - s.ci_low) / 2.0 / abs(s.mean)


def decide(values: list[float], elapsed_s: float, repeat_s: float, cap_s: float, max_repeats: int) -> Decision:
    """Whether a job stops after the repeats giving ``values``: tight, out of repeats, or out of time."""
    rel = relative_half_width(values)
    if len(values) >= MIN_REPEATS and rel is not None and rel <= TARGET:
        return Decision(True, "tight")
    if len(values) >= max_repeats:
        return Decision(True, "max repeats")
    if len(values) >= MIN_REPEATS and elapsed_s + repeat_s > cap_s:
        return Decision(True, "time cap")
    return Decision(False, "")


def gpu_processes(index: int | None = None) -> list[dict[str, Any]] | None:
    """Compute processes other than this one (pid, used memory) on GPU ``index`` (NVML's), or by default on the
    first GPU this process can use (CUDA_VISIBLE_DEVICES resolved as the meter resolves it: with two jobs on two
    cards, each looks at its own); None where NVML cannot tell."""
    try:
        import pynvml
    except ImportError:
        return None
    from wattprint.core.errors import ConfigError
    from wattprint.meter.visible import select

    try:
        pynvml.nvmlInit()
        if index is None:
            chosen, _ = select(pynvml, "visible", os.environ)
            if not chosen:
                return None
            handle = chosen[0].handle
        else:
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
        procs = pynvml.nvmlDeviceGetComputeRunningProcesses(handle)
    except (pynvml.NVMLError, ConfigError):
        return None
    return [{"pid": p.pid, "used_memory": getattr(p, "usedGpuMemory", None)} for p in procs if p.pid != os.getpid()]


@dataclass
class JobLog:
    """What the sidecar keeps of one job: its stop reason, its interval, and who else was on the GPU."""

    preset: str
    task: str
    model: str
    repeats: int = 0
    stop: str = ""
    rel_ci95: float | None = None
    basis: str = "gpu"
    seconds: float = 0.0
    cap_s: float = 0.0
    others_before: list | None = None
    others_after: list | None = None
    commit: str = ""
    notes: list[str] = field(default_factory=list)
    # seconds per stage of this call (StageClock): start, loading, building, warm-up, preprocessing, repeats;
    # what the job spent outside its repeats is what a session's device time loses to set-up
    stages: dict[str, float] = field(default_factory=dict)
    idle_s: float = 0.0  # an idle baseline measured before this job loaded anything (idle_meter), its seconds


def idle_meter(seconds: float):
    """A meter factory for the runner that measures an idle baseline as soon as the meter starts, before the job
    loads anything: every record of that job then carries the card's idle power (``idle_power_w``), and the study
    accounting uses it for every run on the same card (``wattprint.report.accounting``). Nothing in the job's
    settings changes, so its plan keys, and resuming it, stay as they were."""

    def factory(**kwargs: Any) -> Any:
        from wattprint.meter.meter import Meter

        meter = Meter(**kwargs)
        factory.measured_s = meter.idle(seconds).duration_s  # type: ignore[attr-defined]
        return meter

    factory.measured_s = 0.0  # type: ignore[attr-defined]  # stays 0 where the job had nothing left to run
    return factory


def run_adaptive(job, store, *, cap_s: float, max_repeats: int, gpu_index: int | None = None,
                 commit: str = "", idle_s: float = 0.0) -> JobLog:
    """Run one expanded ``Job`` until the rule stops it; the finished repeats are in ``store``. A job whose stored
    repeats already meet the interval (a part called again on the same store) is not loaded again. ``idle_s`` > 0
    measures an idle baseline of that many seconds first (:func:`idle_meter`)."""
    from dataclasses import replace

    from wattprint.bench.runner import run_job

    log = JobLog(job.preset, job.task, job.model, cap_s=cap_s, commit=commit)
    log.others_before = gpu_processes(gpu_index)
    t0 = time.monotonic()
    values = _earlier_values(store, job, max_repeats)  # repeats an earlier call stored count toward the rule
    done = decide(values, 0.0, 0.0, cap_s, max_repeats)
    if done.reason in ("tight", "max repeats"):  # the same reason as the call that measured them
        log.stop, log.notes = done.reason, ["already done: no repeat ran in this call"]
        log.others_after = log.others_before
        log.repeats, log.rel_ci95 = len(values), relative_half_width(values)
        return log
    last = [t0]

    def on_record(r) -> None:
        v = figure(r)
        log.basis = "gpu" if r.gpu_wh_per_1000 is not None else "total (no GPU measured)"
        if r.status == "finished" and v is not None:
            values.append(v)
        elif r.status == "failed":
            log.stop = f"failed: {(r.error or '')[:200]}"
            return
        now = time.monotonic()
        repeat_s, last[0] = now - last[0], now
        d = decide(values, now - t0, repeat_s, cap_s, max_repeats)
        if d.stop:
            log.stop = d.reason
            raise StopRepeats

    clock = StageClock()
    meter = idle_meter(idle_s) if idle_s > 0 else None
    try:
        run_job(replace(job, repeats=max_repeats), store=store, on_record=on_record, skip_keys=store.done_keys(),
                progress=clock, meter_factory=meter)
    except StopRepeats:
        clock.job_finished("", "")  # raised from inside the last repeat: the runner's own call never came
    log.stages = clock.rounded()
    log.idle_s = round(getattr(meter, "measured_s", 0.0), 2)
    log.others_after = gpu_processes(gpu_index)
    log.seconds = time.monotonic() - t0
    log.repeats, log.rel_ci95 = len(values), relative_half_width(values)
    if not log.stop:
        log.stop = "no repeat ran (already done)" if not values else "max repeats"
    return log


def _earlier_values(store, job, max_repeats: int) -> list[float]:
    """Figures of this job's repeats already in ``store`` with the same settings (the same plan keys)."""
    from wattprint.bench.plan import plan_key

    keys = {plan_key(job, i) for i in range(max_repeats)}
    runs = [r for r in store.runs(task=job.task, model=job.model) if r.status == "finished" and r.plan_key in keys]
    values = [figure(r) for r in runs]
    return [v for v in values if v is not None]


def save_log(path: str | Path, log: JobLog) -> None:
    """Append ``log`` to the sidecar JSON (a list; one entry per job call)."""
    p = Path(path)
    logs = json.loads(p.read_text()) if p.exists() else []
    logs.append(asdict(log))
    p.write_text(json.dumps(logs, indent=1))


def load_logs(*paths: str | Path) -> dict[tuple[str, str, str], list[dict]]:
    """(preset, task, model) -> every sidecar entry of that job, from any of ``paths`` that exist."""
    out: dict[tuple[str, str, str], list[dict]] = {}
    for path in paths:
        p = Path(path)
        if p.exists():
            for e in json.loads(p.read_text()):
                out.setdefault((e["preset"], e["task"], e["model"]), []).append(e)
    return out
