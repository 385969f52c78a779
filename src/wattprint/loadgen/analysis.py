"""One level's figures: energy over the steady window per request and per token, latency percentiles,
throughput, failures, and whether the client itself was the bottleneck.

Counts inside the window: output tokens are those whose chunk arrived inside it; input tokens are those of
requests whose first token arrived inside it (their prefill ran there); requests are counted as the share of
each request's output tokens that arrived inside it. Each energy-per-unit figure is the window's whole
energy divided by that count (not a split between prefill and decode).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from wattprint.loadgen import steady
from wattprint.loadgen.client import RequestResult
from wattprint.loadgen.energy import LevelEnergy
from wattprint.loadgen.runner import LevelRun

# A client that used this share of a core, or whose 10 ms timer fired this late (p99), was saturated.
SATURATED_CPU_SHARE = 0.8
SATURATED_LAG_S = 0.05


def pct(values: Sequence[float], q: float) -> float | None:
    """Percentile ``q`` (0-100) with linear interpolation; None for no values."""
    v = sorted(values)
    if not v:
        return None
    k = (len(v) - 1) * q / 100.0
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def _dist(values: Sequence[float]) -> dict[str, float | None]:
    return {"p50": pct(values, 50), "p95": pct(values, 95), "p99": pct(values, 99),
            "mean": sum(values) / len(values) if values else None, "n": len(values)}


def _tokens_in(r: RequestResult, a: float, b: float) -> float:
    # (a, b]: adjacent windows never share a token
    return sum(1 for t in r.token_times if a < t <= b) * r.chunk_weight()


def latency(results: Sequence[RequestResult]) -> dict[str, Any]:
    ok = [r for r in results if r.ok]
    ttft = [r.first_token - r.start for r in ok if r.first_token is not None]
    e2e = [r.end - r.start for r in ok if r.end is not None]
    itl: list[float] = []
    for r in ok:
        w = r.chunk_weight() or 1.0
        itl.extend((b - a) / w for a, b in zip(r.token_times, r.token_times[1:]))
    return {"ttft_s": _dist(ttft), "itl_s": _dist(itl), "e2e_s": _dist(e2e)}


def work(results: Sequence[RequestResult], a: float, b: float) -> dict[str, float]:
    out_tok = sum(_tokens_in(r, a, b) for r in results)
    in_tok = sum(float(r.prompt_tokens or 0) for r in results
                 if r.first_token is not None and a < r.first_token <= b)
    req_eq = sum(_tokens_in(r, a, b) / r.output_tokens for r in results if r.output_tokens)
    return {"output_tokens": out_tok, "input_tokens": in_tok, "requests": req_eq}


def batch(results: Sequence[RequestResult], a: float, b: float) -> dict[str, float]:
    """Mean requests in flight (client view, queued ones included) and mean requests between their first and
    last token (those the engine was decoding: the achieved batch size)."""
    decoding = [RequestResult(r.index, r.first_token, 0, stopped=r.token_times[-1])
                for r in results if r.first_token is not None and r.token_times]
    return {"in_flight_mean": steady.time_mean(steady.steps(results), a, b),
            "decoding_mean": steady.time_mean(steady.steps(decoding), a, b)}


def energy(le: LevelEnergy, idx: Sequence[int]) -> dict[str, Any] | None:
    """Sum of the slices ``idx``: total, by kind, above idle, methods, uncertainty, edge-probe check."""
    if not idx:
        return None
    by_kind: dict[str, float] = {}
    comps: dict[str, dict[str, Any]] = {}
    idle_w: dict[str, float] = {}
    methods: set[str] = set()
    unc = 0.0
    for i in idx:
        for c in le.slices[i].components:
            kind = c.kind.value if hasattr(c.kind, "value") else str(c.kind)
            by_kind[kind] = by_kind.get(kind, 0.0) + c.energy_j
            unc += c.uncertainty_j
            methods.add(f"{kind}:{c.method}")
            d = comps.setdefault(c.key, {**c.to_dict(), "energy_j": 0.0, "uncertainty_j": 0.0, "samples": None})
            d["energy_j"] += c.energy_j
            d["uncertainty_j"] += c.uncertainty_j
            if c.idle_power_w is not None:
                idle_w[c.key] = c.idle_power_w
    s0, s1 = le.slices[idx[0]], le.slices[idx[-1]]
    dur = s1.t1 - s0.t0
    total = sum(by_kind.values())
    idle_j = sum(idle_w.values()) * dur if idle_w else None
    probe = s1.probe1 - s0.probe0 if s0.probe0 is not None and s1.probe1 is not None else None
    return {"total_j": total, "by_kind_j": by_kind, "uncertainty_j": unc, "methods": sorted(methods),
            "idle_w": sum(idle_w.values()) if idle_w else None, "idle_j": idle_j,
            "above_idle_j": total - idle_j if idle_j is not None else None,
            "gpu_power_w": by_kind.get("gpu", 0.0) / dur if dur > 0 and "gpu" in by_kind else None,
            "edge_probe_j": probe, "duration_s": dur, "components": list(comps.values())}


def receipts(results: Sequence[RequestResult], a: float, b: float) -> dict[str, Any] | None:
    """A wattprint proxy's receipts of the requests that ended inside the window."""
    got = [r for r in results if r.ok and r.receipt and r.end is not None and a <= r.end <= b]
    if not got:
        return None
    e = sum(float(r.receipt["energy_j"]) for r in got if r.receipt)
    tokens = sum(r.output_tokens for r in got)
    prov = sum(float(r.receipt.get("provisional_j", 0.0)) for r in got if r.receipt)
    return {"requests": len(got), "energy_j": e, "j_per_request": e / len(got),
            "j_per_output_token": e / tokens if tokens else None,
            "idle_j": sum(float(r.receipt.get("idle_j", 0.0)) for r in got if r.receipt),
            "provisional_share": prov / e if e else None}


def failures(results: Sequence[RequestResult]) -> dict[str, Any]:
    bad = [r for r in results if not r.ok]
    kinds = Counter(r.error or "unknown" for r in bad)
    short = [r for r in results if r.ok and r.token_source == "usage" and r.output_tokens != r.requested_tokens]
    return {"failed": len(bad), "errors": dict(kinds.most_common(5)), "length_mismatch": len(short),
            "length_mismatch_example": (f"asked {short[0].requested_tokens}, got {short[0].output_tokens}"
                                        if short else None)}


def client_load(run: LevelRun, n_requests: int) -> dict[str, Any]:
    wall = max(run.t_end - run.t_start, 1e-9)
    share = run.client_cpu_s / wall
    lag = pct(run.loop_lag_s, 99)
    reasons = []
    if share >= SATURATED_CPU_SHARE:
        reasons.append(f"client used {share:.0%} of a core")
    if lag is not None and lag >= SATURATED_LAG_S:
        reasons.append(f"client event loop {lag * 1000:.0f} ms late (p99)")
    return {"cpu_s": run.client_cpu_s, "cpu_share": share,
            "cpu_ms_per_request": 1000 * run.client_cpu_s / n_requests if n_requests else None,
            "loop_lag_p99_s": lag, "saturated": bool(reasons), "saturated_reason": "; ".join(reasons) or None}


def _per_unit(e: dict[str, Any] | None, w: dict[str, float]) -> dict[str, float | None]:
    def div(x: float | None, n: float) -> float | None:
        return x / n if x is not None and n > 0 else None

    total = e["total_j"] if e else None
    above = e["above_idle_j"] if e else None
    return {"j_per_request": div(total, w["requests"]), "j_per_output_token": div(total, w["output_tokens"]),
            "j_per_input_token": div(total, w["input_tokens"]),
            "above_idle_j_per_output_token": div(above, w["output_tokens"]),
            "above_idle_j_per_request": div(above, w["requests"])}


def _window(run: LevelRun, results: Sequence[RequestResult]) -> tuple[steady.Window, list[int]]:
    raw = steady.find(results, run.level.mode, run.level.value, run.t_start, run.t_stop_issuing or run.t_end,
                      run.t_end)
    edges = [(s.t0, s.t1) for s in run.energy.slices]
    if not edges:
        return raw, []
    win, idx = steady.snap(raw, edges)
    if win.found:
        return win, idx
    whole = steady.Window(edges[0][0], edges[-1][1], win.target, win.held, False, win.reason)
    return whole, list(range(len(edges)))


def summarise(run: LevelRun) -> dict[str, Any]:
    """Everything the store, the table and the charts need about one level, as plain data."""
    results = [r for r in run.results if not r.warmup]
    win, idx = _window(run, results)
    a, b = win.t0, win.t1
    w = work(results, a, b)
    e = energy(run.energy, idx)
    started = [r for r in results if a <= r.start <= b]
    dur = max(b - a, 1e-9)
    out: dict[str, Any] = {
        "level": {"mode": run.level.mode, "value": run.level.value, "label": run.level.label},
        "window": {"start_s": a - run.t_start, "end_s": b - run.t_start, "duration_s": b - a,
                   "level_s": run.t_end - run.t_start, "found": win.found, "target_in_flight": win.target,
                   "held_share": win.held, "reason": win.reason or None, "slices": len(idx)},
        "requests": {"sent": len(results), "ok": sum(r.ok for r in results), "in_window": w["requests"],
                     "latency_sample": "started in the window" if started else "whole level"},
        "tokens": {"output": w["output_tokens"], "input": w["input_tokens"],
                   "source": "usage" if all(r.token_source == "usage" for r in results if r.ok) else "chunks"},
        "throughput": {"requests_per_s": w["requests"] / dur, "output_tokens_per_s": w["output_tokens"] / dur,
                       "input_tokens_per_s": w["input_tokens"] / dur},
        "batch": batch(results, a, b),
        "latency": latency(started or results),
        "energy": e,
        "energy_source": run.energy.source,
        "per": _per_unit(e, w),
        "receipts": receipts(results, a, b),
        "failures": failures(results),
        "client": client_load(run, len(results)),
        "interrupted": run.interrupted,
    }
    if run.energy.whole is not None:
        out["level_energy_j"] = run.energy.whole.total_energy_j
    return out
