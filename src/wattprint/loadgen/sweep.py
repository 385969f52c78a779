"""A sweep: check the endpoint, warm it up (not counted), then run each level and hand its summary on.

Before anything is written: the endpoint must answer, the model name must be one it serves (close matches
suggested), and one short request must succeed, with the output length it asked for (or a warning that the
engine does not honour it). Each level's summary goes to ``on_level`` the moment the level ends (the CLI
stores it), so Ctrl-C keeps every finished level; the interrupted one is handed on too, marked, with its
cut requests counted as failures.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from wattprint.core.errors import ConfigError, UnknownNameError, WattprintError
from wattprint.loadgen import analysis
from wattprint.loadgen.client import RequestResult, send
from wattprint.loadgen.energy import EnergySource
from wattprint.loadgen.runner import Level, LevelRun, LoadSettings, run_level
from wattprint.loadgen.target import Target
from wattprint.loadgen.workload import RequestSpec, Workload


class Interrupted(WattprintError):
    """Ctrl-C during a sweep; the finished levels were handed on."""


@dataclass
class SweepState:
    done: list[dict[str, Any]] = field(default_factory=list)
    current: LevelRun | None = None
    warnings: list[str] = field(default_factory=list)
    served_models: list[str] = field(default_factory=list)


def _client(target: Target) -> Any:
    """No pool limit: a request waiting for a pooled connection would add client queueing to its latency."""
    try:
        import httpx
    except ImportError as e:  # pragma: no cover - the serve extra
        raise ConfigError("the serving benchmark needs httpx", fix="pip install 'wattprint[loadtest]'") from e
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    return httpx.AsyncClient(timeout=httpx.Timeout(target.timeout_s, connect=10.0), limits=limits)


async def _models(client: Any, target: Target) -> list[str]:
    import httpx

    try:
        r = await client.get(f"{target.base}/models", timeout=10.0)
    except httpx.HTTPError as e:
        raise ConfigError(f"cannot reach the endpoint {target.base}: {type(e).__name__} {e}".rstrip(),
                          fix="start the engine (or use --launch), and check --url and its port") from e
    if r.status_code != 200:
        raise ConfigError(f"{target.base}/models answered HTTP {r.status_code}; is this an OpenAI-compatible server?",
                          fix="point --url at the server's base, e.g. http://127.0.0.1:8000")
    return [str(m.get("id")) for m in r.json().get("data", [])]


async def preflight(client: Any, target: Target, state: SweepState) -> None:
    served = await _models(client, target)
    state.served_models = served
    if served and target.model not in served:
        raise UnknownNameError("model", target.model, served,
                               fix=f"use a name the server lists: {', '.join(served[:5])}")
    probe = await send(client, target, RequestSpec("the of and to in", 4, 5), -1, warmup=True)
    if not probe.ok:
        raise ConfigError(f"a first request to {target.route} failed: {probe.error}",
                          fix="check --model and --api (chat or completions) against the engine")
    if probe.token_source == "usage" and probe.output_tokens != 4:
        how = (f"--force-length {target.force} did not make it" if target.forces_length else
               "this engine cannot be told to (see docs/serving-benchmark.md)")
        state.warnings.append(f"the engine returned {probe.output_tokens} output tokens for 4 asked: it does not "
                              f"honour the requested length ({how}); per-token figures stay valid, but requests "
                              "are not the workload's lengths")


async def warm_up(client: Any, target: Target, workload: Workload, n: int, width: int,
                  counter: itertools.count) -> list[RequestResult]:
    """``n`` requests, ``width`` at a time, before the first level; not counted anywhere."""
    if n <= 0:
        return []
    todo = iter(range(n))

    async def worker() -> list[RequestResult]:
        out = []
        for _ in todo:
            out.append(await send(client, target, workload.request(next(counter)), -1, warmup=True))
        return out

    parts = await asyncio.gather(*(worker() for _ in range(max(1, min(width, n)))))
    got = [r for p in parts for r in p]
    if not any(r.ok for r in got):
        raise ConfigError(f"every warm-up request failed: {got[0].error}", fix="check the engine's log")
    return got


async def _sweep(target: Target, workload: Workload, levels: Sequence[Level], settings: LoadSettings,
                 energy: EnergySource, warmup: int, state: SweepState,
                 on_level: Callable[[dict[str, Any]], None]) -> None:
    width = max(int(lv.value) if lv.mode == "concurrency" else 8 for lv in levels)
    async with _client(target) as client:
        await preflight(client, target, state)
        counter = itertools.count()
        await warm_up(client, target, workload, warmup, min(width, warmup), counter)
        for level in levels:
            state.current = LevelRun(level, 0.0)
            await run_level(client, target, workload, level, settings, energy, counter, state.current)
            summary = analysis.summarise(state.current)
            state.current = None
            state.done.append(summary)
            on_level(summary)


def run_sweep(target: Target, workload: Workload, levels: Sequence[Level], settings: LoadSettings,
              energy: EnergySource, on_level: Callable[[dict[str, Any]], None], warmup: int = 4,
              state: SweepState | None = None) -> SweepState:
    """Run every level; on Ctrl-C the partial level goes to ``on_level`` (marked) and :class:`Interrupted` is raised."""
    if not levels:
        raise ConfigError("no load levels", fix="give --concurrency 1,2,4 or --rate 0.5,1")
    state = state or SweepState()
    try:
        asyncio.run(_sweep(target, workload, levels, settings, energy, warmup, state, on_level))
    except KeyboardInterrupt:
        run = state.current
        if run is not None and run.t_start:
            run.interrupted = True
            run.close_interrupted()
            summary = analysis.summarise(run)
            state.done.append(summary)
            on_level(summary)
        raise Interrupted(f"interrupted: {sum(not s['interrupted'] for s in state.done)} level(s) finished and kept",
                          fix="run again to measure the rest") from None
    return state
