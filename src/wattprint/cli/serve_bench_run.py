"""The body of ``wattprint serve-bench``: launch, meter, sweep, store each level, print, report."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Iterator
from typing import Any

from wattprint.cli.args import check_store, write_output
from wattprint.core.errors import ConfigError, UnknownNameError


@contextlib.contextmanager
def _engine(args: argparse.Namespace) -> Iterator[Any]:
    if not args.launch:
        yield None
        return
    from wattprint.loadgen.engine import Engine

    eng = Engine(args.launch, args.url, ready_timeout_s=args.ready_timeout)
    print(f"starting the engine: {args.launch}", file=sys.stderr)
    with eng:
        print(f"engine ready after {eng.ready_after_s:.1f} s (pid {eng.pid}, log {eng.log_path})", file=sys.stderr)
        yield eng


@contextlib.contextmanager
def _meter(args: argparse.Namespace, engine: Any) -> Iterator[Any]:
    use = args.energy == "meter" or (args.energy == "auto" and engine is not None)
    if not use:
        yield None
        return
    from wattprint.cli.measure import parse_gpus
    from wattprint.loadgen.session import build_meter

    pid = engine.pid if engine is not None else args.engine_pid
    meter = build_meter(parse_gpus(args.gpus), pid, args.counter_reads)
    try:
        meter.wait_ready(2.0)
        if args.idle > 0:
            print(f"idle baseline: {args.idle:g} s with the engine loaded and no requests", file=sys.stderr)
            meter.idle(args.idle)
        yield meter
    finally:
        meter.close()


def _context(args: argparse.Namespace, target: Any, workload: Any, settings: Any, meter: Any, engine: Any,
             state: Any) -> Any:
    from dataclasses import asdict

    from wattprint.bench.environment import snapshot
    from wattprint.loadgen.record import SweepContext

    uuids = sorted({b for m in ([meter] if meter else []) for line in m.components() for b in line.split()
                    if b.startswith("GPU-")})
    return SweepContext(
        model=target.model, weights=args.weights, dtype=args.dtype, gpu_uuids=uuids,
        target={"url": target.url, "api": target.api, "force_length": target.force, "launch": args.launch,
                "ready_after_s": engine.ready_after_s if engine else None, "served_models": state.served_models},
        workload=workload.to_dict(), load={**asdict(settings), "warmup": args.warmup, "energy": args.energy},
        environment=snapshot(), warnings=list(state.warnings),
        meter={"components": meter.components() if meter else [], "warnings": meter.warnings if meter else []})


class _Recorder:
    """Stores and prints each level as it ends; the store opens at the first level (nothing written before)."""

    def __init__(self, args: argparse.Namespace, location: Any, make_ctx: Any) -> None:
        self.args, self.location, self.make_ctx = args, location, make_ctx
        self.store: Any = None
        self.ctx: Any = None
        self.summaries: list[dict[str, Any]] = []
        self.started = time.time()

    def __call__(self, summary: dict[str, Any]) -> None:
        from wattprint.bench.derive import fill_carbon
        from wattprint.loadgen import session
        from wattprint.loadgen.record import to_record
        from wattprint.store.sqlite import Store

        if self.store is None:
            self.ctx = self.make_ctx()  # after the preflight, whose warnings it carries
            self.store = Store(self.args.store)
            print(session.table([session.HEADER]), file=sys.stderr)
        rec = to_record(self.ctx, summary, len(self.summaries), self.started)
        import wattprint.carbon as carbon

        fill_carbon(rec, self.location, carbon)
        self.store.add(rec)
        self.summaries.append(summary)
        self.started = time.time()
        print(session.table([session.row(summary)]), file=sys.stderr)
        for w in rec.warnings[len(self.ctx.warnings):]:
            print(f"  {summary['level']['label']}: {w}", file=sys.stderr)


def sweep(args: argparse.Namespace, target: Any, workload: Any, levels: list[Any], settings: Any, slo: Any,
          location: Any) -> int:
    from wattprint.loadgen.session import energy_source
    from wattprint.loadgen.sweep import Interrupted, SweepState, run_sweep

    state = SweepState()
    code = 0
    with _engine(args) as engine, _meter(args, engine) as meter:
        rec = _Recorder(args, location, lambda: _context(args, target, workload, settings, meter, engine, state))
        energy = energy_source("meter" if meter else "none", meter)
        try:
            run_sweep(target, workload, levels, settings, energy, rec, args.warmup, state)
        except Interrupted as e:
            print(f"wattprint: {e.message}; stored in {args.store}", file=sys.stderr)
            code = 130
        finally:
            if rec.store is not None:
                rec.store.close()
    _finish(args, rec.summaries, slo, state)
    return code


def write_json(path: str, summaries: list[dict[str, Any]]) -> None:
    import json

    text = json.dumps({"written_at": time.time(), "levels": summaries}, indent=1, default=str)
    write_output(path, text, what="levels' summary", suffix=".json")
    print(f"wrote {path}", file=sys.stderr)


def _finish(args: argparse.Namespace, summaries: list[dict[str, Any]], slo: Any, state: Any) -> None:
    from wattprint.report.serving import pick_line, report_text

    for w in state.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if not summaries:
        return
    print(pick_line(summaries, slo), file=sys.stderr)
    if args.json:
        write_json(args.json, summaries)
    if args.report:
        write_output(args.report, report_text(args.report, summaries, args.model or "", slo), what="report",
                     suffix=".html")
        print(f"wrote {args.report}", file=sys.stderr)


def report_from_store(args: argparse.Namespace) -> int:
    from wattprint.loadgen.pareto import LatencyTarget
    from wattprint.loadgen.record import PRESET
    from wattprint.store.sqlite import Store

    check_store(args.store, "run a sweep first, or give --store PATH")
    with Store(args.store, readonly=True) as store:
        levels = [r for r in store.runs(status=None) if r.preset == PRESET and r.serving]
        store.print_notices()
    recs = [r for r in levels if args.model is None or r.model == args.model]
    if not recs and levels:  # a --model the store has no levels of: the models it has, closest first
        stored = sorted({r.model for r in levels})
        raise UnknownNameError("serve-bench model", args.model, stored,
                               fix=f"{args.store} has serve-bench levels of {', '.join(stored)}")
    if not recs:
        raise ConfigError(f"no serve-bench levels in {args.store}" + (f" for {args.model}" if args.model else ""),
                          fix="run wattprint serve-bench first, or check --model")
    slo = LatencyTarget.parse(args.latency_target) if args.latency_target else None
    args.model = args.model or recs[0].model
    _finish(args, [r.serving for r in recs if r.model == args.model], slo, argparse.Namespace(warnings=[]))
    return 0
