"""Drive one load level: closed loop (N requests always in flight) or open loop (Poisson arrivals at a rate).

Requests are issued for ``duration_s`` (and until ``min_requests`` have been issued), then the level drains:
the requests in flight finish (a request that takes longer than the target's timeout is a failure). Meanwhile a
slicer cuts the energy into slices and a probe watches the client's own event loop: how late its timers
fire, and how much CPU this process used, so that a level whose client was saturated can be flagged.
Results are appended as they finish, so an interrupted level keeps what it had.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from dataclasses import dataclass, field
from typing import Any

from wattprint.core.errors import ConfigError
from wattprint.loadgen.client import RequestResult, send
from wattprint.loadgen.energy import EnergySource, LevelEnergy
from wattprint.loadgen.target import Target
from wattprint.loadgen.workload import Workload

LAG_TICK_S = 0.01


@dataclass(frozen=True)
class Level:
    mode: str  # "concurrency" (closed loop) or "rate" (open loop, requests/s)
    value: float

    def __post_init__(self) -> None:
        if self.mode not in ("concurrency", "rate"):
            raise ConfigError(f"level mode {self.mode!r}", fix="use 'concurrency' or 'rate'")
        if not self.value > 0 or (self.mode == "concurrency" and self.value != int(self.value)):
            kind = "integer" if self.mode == "concurrency" else "number"
            raise ConfigError(f"{self.mode} {self.value!r} must be a positive {kind}",
                              fix="e.g. --concurrency 1,2,4,8 or --rate 0.5,1,2")

    @property
    def label(self) -> str:
        return f"c={int(self.value)}" if self.mode == "concurrency" else f"rate={self.value:g}/s"


@dataclass(frozen=True)
class LoadSettings:
    duration_s: float = 20.0  # issuing time per level
    min_requests: int = 0  # per level, issued even after duration_s
    slice_s: float = 0.5  # energy slice length (the steady window is priced from whole slices)
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.duration_s > 0 or not self.slice_s > 0 or self.min_requests < 0:
            raise ConfigError("duration, slice length must be positive and min requests not negative",
                              fix="e.g. --duration 20 --slice 0.5")


@dataclass
class LevelRun:
    """What one level produced, raw: every request (failed ones too), energy slices, client load."""

    level: Level
    t_start: float
    t_stop_issuing: float = 0.0
    t_end: float = 0.0
    results: list[RequestResult] = field(default_factory=list)
    in_flight: dict[int, float] = field(default_factory=dict)  # index -> start, while running
    energy: LevelEnergy = field(default_factory=LevelEnergy)
    client_cpu_s: float = 0.0
    loop_lag_s: list[float] = field(default_factory=list)
    interrupted: bool = False

    def close_interrupted(self) -> None:
        """Requests still in flight when the level stopped early become failures ("interrupted")."""
        now = time.perf_counter()
        for i, start in sorted(self.in_flight.items()):
            self.results.append(RequestResult(i, start, 0, error=INTERRUPTED, stopped=now))
        self.in_flight.clear()
        self.t_end = self.t_end or now


INTERRUPTED = "interrupted (Ctrl-C) before it finished"


async def _tracked(run: LevelRun, client: Any, target: Target, workload: Workload, i: int) -> None:
    start = run.in_flight[i] = time.perf_counter()
    spec = workload.request(i)
    try:
        res = await send(client, target, spec, i)
    except asyncio.CancelledError:  # Ctrl-C: the request is cut, and counted as a failure
        run.results.append(RequestResult(i, start, spec.output_tokens, error=INTERRUPTED, stopped=time.perf_counter()))
        raise
    finally:
        run.in_flight.pop(i, None)
    run.results.append(res)


async def _closed(run: LevelRun, client: Any, target: Target, workload: Workload, s: LoadSettings,
                  counter: itertools.count) -> None:
    n = int(run.level.value)
    issued = itertools.count()

    async def worker() -> None:
        while True:
            k = next(issued)
            if time.perf_counter() >= run.t_start + s.duration_s and k >= s.min_requests:
                run.t_stop_issuing = run.t_stop_issuing or time.perf_counter()
                return
            await _tracked(run, client, target, workload, next(counter))

    await asyncio.gather(*(worker() for _ in range(n)))


async def _open(run: LevelRun, client: Any, target: Target, workload: Workload, s: LoadSettings,
                counter: itertools.count) -> None:
    rng = random.Random(s.seed + int(run.level.value * 1000))
    tasks: set[asyncio.Task[None]] = set()
    next_t, k = run.t_start, 0
    while next_t < run.t_start + s.duration_s or k < s.min_requests:
        await asyncio.sleep(max(0.0, next_t - time.perf_counter()))
        t = asyncio.create_task(_tracked(run, client, target, workload, next(counter)))
        tasks.add(t)
        t.add_done_callback(tasks.discard)
        k += 1
        next_t += rng.expovariate(run.level.value)
    run.t_stop_issuing = time.perf_counter()
    if tasks:
        await asyncio.gather(*tasks)


async def _tick(run: LevelRun, energy: EnergySource, slice_s: float) -> None:
    """Energy slice edges and the event loop's lateness, every LAG_TICK_S."""
    next_edge = time.perf_counter() + slice_s
    while True:
        want = time.perf_counter() + LAG_TICK_S
        await asyncio.sleep(LAG_TICK_S)
        now = time.perf_counter()
        run.loop_lag_s.append(max(0.0, now - want))
        if now >= next_edge:
            energy.boundary()
            next_edge += slice_s


async def run_level(client: Any, target: Target, workload: Workload, level: Level, settings: LoadSettings,
                    energy: EnergySource, counter: itertools.count, run: LevelRun) -> LevelRun:
    """Run ``level`` into ``run`` (created by the caller, so that an interruption leaves it readable)."""
    cpu0 = time.process_time()
    energy.start()
    run.t_start = time.perf_counter()
    ticker = asyncio.create_task(_tick(run, energy, settings.slice_s))
    try:
        load = _closed if level.mode == "concurrency" else _open
        await load(run, client, target, workload, settings, counter)
    finally:
        ticker.cancel()
        run.t_end = time.perf_counter()
        run.client_cpu_s = time.process_time() - cpu0
        run.energy = energy.stop()
    return run
