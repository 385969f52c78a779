"""wattprint against CodeCarbon 3.x, Zeus and the raw NVML counter, on the same GPU loads, 37 ms to 3 s (10 s opt).

    PYTHONPATH=src python benchmarks/meter_vs_peers.py [--sim] [--reps 6] [--max-seconds 250]

Benchmark v2 (2026-11-28; docs/benchmarks/meter_vs_peers.md, "Benchmark v2"). Each (load, length) cell is one
stretch of its load that keeps running between windows, so every window sits in the regime its truth was
measured in:

* idle: the GPU idles; truth = idle power (2 s between two fresh counter readings at the start).
* steady: a bf16 8192^2 matmul stream that is kept queued between windows (the GPU idles only while a tool's
  edge runs); a window is L s of it, waited for. Truth = the stream's mean power, measured between two fresh
  counter readings taken *while the stream runs* (no idle in the span), 1.5 s before the first cell and 1 s
  after each cell; a cell's truth is the mean of the spans before and after it (both kept: drift).
* bursty: cycles of L/2 s of matmuls then L/2 s idle; a window is one whole cycle, so any phase of it holds
  the cycle's mean energy. Truth = the cycle's mean power amortised over the cell's own train (lead-in,
  gaps and window cycles, every cycle timed), between two fresh counter readings, the time outside cycles
  (tools' edges, settle waits, random phase gaps) priced at idle power. A lead-in-only truth is kept beside it.

Windows under 1 s: each tool measures its own windows, in rounds (the tool order rotates per round, so drift
falls on every tool alike), each after a random-length gap of the load (random phase against the counter's
100 ms refresh). Windows of 1 s and more: all tools nest around the same window (paired). For steady, queued
work keeps the GPU busy across the nested peers' edges, so every tool's window is busy throughout.
wattprint: two meters measure each of its windows, the default budget (0.5 counter reads/s) and the bench
runner's (10 reads/s, src/wattprint/bench/runner.py); each is resolved at once and again after the settle
(Meter.settle's condition, polled while the load keeps running, same 0.4 s timeout): four modes.

Scoring per cell: median |error| with a distribution-free 90% interval (order statistics), and a one-sided
exact permutation test of wattprint's |errors| against the best peer's (unpaired Mann-Whitney for separate
windows, paired sign-flip for nested ones). wattprint *loses* a cell only when its median |error| is above
the best peer's and p < 0.05; it *wins* in the mirror case; otherwise it is a tie within noise.
"""

from __future__ import annotations

import time

T_PROC = time.perf_counter()  # --max-seconds counts from here (imports and peers' start-up included)

import argparse  # noqa: E402
import itertools  # noqa: E402
import math  # noqa: E402
import random  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
from typing import Any  # noqa: E402

from meter_common import Gpu, environment, has_gpu, save, table  # noqa: E402
from wattprint.meter.meter import SETTLE_TIMEOUT_S, Meter  # noqa: E402

SHORT = (0.037, 0.123, 0.34)  # none a whole multiple of the 100 ms refresh (0.013 on request: --short)
LONG = (1.07, 3.1)  # 10.3 on request (--long 1.07,3.1,10.3)
PEERS = ("zeus", "zeus-approx", "codecarbon")
MODES = ("wattprint", "wattprint-settled", "wattprint-precise", "wattprint-precise-settled")
HEADLINE = "wattprint-precise-settled"  # what wattprint's bench runner uses: 10 reads/s, settled repeats
ALPHA = 0.05
POLL_S = 0.005
CHUNK_S = 0.03  # steady stream: work is queued in chunks this long, three ahead
# rough costs per window for the estimate (s): a tool's two edges; the steady/idle gap's mean; settle
EDGE_S = {"wattprint": 0.002, "raw-nvml": 0.008, "zeus": 0.012, "zeus-approx": 0.012, "codecarbon": 0.03}
SETTLE_S = 0.3


class OutOfTime(Exception):
    """--max-seconds reached (or SIGTERM): stop measuring, score and write what there is."""


class Budget:
    def __init__(self, max_seconds: float) -> None:
        self.max_s = max_seconds
        self.stopped = ""

    def elapsed(self) -> float:
        return time.perf_counter() - T_PROC

    def need(self, seconds: float, what: str) -> None:
        if self.elapsed() + seconds > self.max_s:
            self.stopped = f"stopped before {what}: {self.elapsed():.0f} s used, ~{seconds:.1f} s more needed, " \
                           f"--max-seconds {self.max_s:.0f}"
            raise OutOfTime(self.stopped)


# ---- the load -----------------------------------------------------------------------------------------
def fresh_counter(gpu: Gpu, keep: Any = None) -> tuple[float, float]:
    """(time, J) right after the counter refreshes: poll until its value changes. ``keep`` runs between
    reads (the steady stream tops up its queue there, so the GPU stays busy while this polls)."""
    first = gpu.counter_j()
    deadline = time.perf_counter() + 0.5
    while time.perf_counter() < deadline:
        if keep:
            keep()
        t0 = time.perf_counter()
        v = gpu.counter_j()
        if v != first:
            return (t0 + time.perf_counter()) / 2, v
    return time.perf_counter(), gpu.counter_j()


class Load:
    """A cell's load, kept running between windows. ``poll`` is called every few ms while the load waits
    (settle checks of wattprint windows)."""

    def __init__(self, gpu: Gpu, kind: str, length: float, rng: random.Random) -> None:
        self.gpu, self.kind, self.length, self.rng = gpu, kind, length, rng
        self.queued: list[Any] = []  # steady stream: outstanding chunks
        self.cycle_s = 0.0  # bursty: seconds spent inside whole cycles (truth amortisation)
        self.cycles = 0

    # steady stream
    def top_up(self, ahead: int = 3) -> None:
        while self.queued and self.gpu.done(self.queued[0]):
            self.queued.pop(0)
        while len(self.queued) < ahead:
            self.queued.append(self.gpu.queue(CHUNK_S))

    def drain(self) -> None:
        for h in self.queued:
            self.gpu.wait(h)
        self.queued.clear()

    def busy_for(self, seconds: float, poll: Any = None) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            self.top_up()
            if poll:
                poll()
            time.sleep(POLL_S)
        self.drain()

    def idle_for(self, seconds: float, poll: Any = None) -> None:
        end = time.perf_counter() + seconds
        while (left := end - time.perf_counter()) > 0:
            if poll:
                poll()
            time.sleep(min(POLL_S, max(left, 0.0)))

    def cycle(self, poll: Any = None) -> float:
        """One bursty cycle (L/2 s of matmuls, then idle until L s from its start); its duration."""
        t = time.perf_counter()
        h = self.gpu.queue(self.length / 2)
        while not self.gpu.done(h):
            if poll:
                poll()
            time.sleep(min(POLL_S, self.length / 8))
        self.gpu.wait(h)
        self.idle_for(t + self.length - time.perf_counter(), poll)
        d = time.perf_counter() - t
        self.cycle_s += d
        self.cycles += 1
        return d

    # windows
    def gap(self, poll: Any = None) -> None:
        """The stretch before a window: a random phase against the 100 ms refresh, in the cell's regime."""
        if self.kind == "steady":
            self.busy_for(self.rng.uniform(0.02, 0.12), poll)
        elif self.kind == "bursty":
            self.idle_for(self.rng.uniform(0.0, 0.1), poll)
            for _ in range(self.lead_cycles()):
                self.cycle(poll)
        else:
            self.idle_for(self.rng.uniform(0.0, 0.1), poll)

    def lead_cycles(self) -> int:
        """Whole cycles between a bursty window and the idle before it (>= 0.15 s; none for 1 s cycles, whose
        idle half is as long as any gap)."""
        return 0 if self.length >= 1.0 else max(1, math.ceil(0.15 / self.length))

    def body(self) -> float:
        """The window's content, waited for; its duration (s)."""
        if self.kind == "steady":
            return self.gpu.run(self.length)
        if self.kind == "bursty":
            return self.cycle()
        t = time.perf_counter()
        time.sleep(self.length)
        return time.perf_counter() - t

    def after_edge(self) -> None:
        """Right after a tool's edge: the steady stream goes on (queued) while the next thing happens."""
        if self.kind == "steady":
            self.top_up(ahead=2)

    def settle_hold(self, poll: Any) -> None:
        """The wait for a settle: the steady stream goes on, other loads idle (as a caller waiting would)."""
        if self.kind == "steady":
            self.top_up()
        poll()
        time.sleep(POLL_S)


def steady_truth(load: Load, seconds: float) -> dict[str, float]:
    """Mean power of the matmul stream between two fresh counter readings taken while it runs."""
    load.top_up()
    ta, ea = fresh_counter(load.gpu, load.top_up)
    while time.perf_counter() < ta + seconds:
        load.top_up()
        time.sleep(POLL_S)
    tb, eb = fresh_counter(load.gpu, load.top_up)
    return {"w": (eb - ea) / (tb - ta), "t": ta, "span_s": tb - ta}


def idle_truth(gpu: Gpu, seconds: float) -> dict[str, float]:
    ta, ea = fresh_counter(gpu)
    time.sleep(max(seconds - 0.05, 0.0))
    tb, eb = fresh_counter(gpu)
    return {"w": (eb - ea) / (tb - ta), "t": ta, "span_s": tb - ta}


def cycles_truth(ea: float, eb: float, span_s: float, cycle_s: float, idle_w: float) -> float:
    """Mean power inside whole cycles: the span's energy less its time outside cycles at idle power."""
    return (eb - ea - idle_w * max(span_s - cycle_s, 0.0)) / cycle_s


# ---- tools -----------------------------------------------------------------------------------------
class Tools:
    def __init__(self, gpu: Gpu, sim: bool, peers: list[str]) -> None:
        self.gpu = gpu
        self.ww = Meter(backends=[gpu.meter_backend()])  # the default budget, 0.5 counter reads/s
        self.precise = Meter(backends=[gpu.meter_backend(counter_reads_per_s=10.0)])  # the bench runner's
        self.peers: dict[str, Any] = {}
        self.errors: dict[str, str] = {}
        if sim:
            for p in PEERS:
                self.errors[p] = "no GPU here (sim)"
            return
        try:
            from zeus.monitor import ZeusMonitor

            if "zeus" in peers:
                self.peers["zeus"] = ZeusMonitor(gpu_indices=[0], cpu_indices=[])
            if "zeus-approx" in peers:
                self.peers["zeus-approx"] = ZeusMonitor(gpu_indices=[0], cpu_indices=[],
                                                        approx_instant_energy=True)
        except Exception as e:  # noqa: BLE001 - a peer that cannot start is reported, not fatal
            self.errors["zeus"] = self.errors["zeus-approx"] = f"{type(e).__name__}: {e}"
        try:
            if "codecarbon" not in peers:
                return
            from codecarbon import OfflineEmissionsTracker

            cc = OfflineEmissionsTracker(country_iso_code="USA", save_to_file=False, log_level="error",
                                         gpu_ids=[0], allow_multiple_runs=True)
            cc.start()
            self.peers["codecarbon"] = cc
        except Exception as e:  # noqa: BLE001
            self.errors["codecarbon"] = f"{type(e).__name__}: {e}"

    def names(self) -> list[str]:
        return ["wattprint", "raw-nvml", *self.peers]

    def fail(self, tool: str, e: Exception) -> None:
        """A peer that raises mid-run is dropped from the rest of the run and reported, not fatal."""
        self.errors[tool] = f"failed mid-run: {type(e).__name__}: {e}"
        self.peers.pop(tool, None)

    def begin(self, tool: str, key: str) -> dict[str, Any]:
        """Open ``tool``'s window. Its window, for the truth, runs from the return of begin to the call of end
        (what the caller's code between them sees); the CPU and wall time of both edges are kept."""
        c, w = time.thread_time(), time.perf_counter()
        st: dict[str, Any] = {}
        if tool == "wattprint":
            self.precise.begin(key)
            c1 = time.thread_time()
            self.ww.begin(key)
            st["cpu_p"], st["cpu_w"] = c1 - c, time.thread_time() - c1
        elif tool == "raw-nvml":
            st["e0"] = self.gpu.counter_j()
        elif tool.startswith("zeus"):
            self.peers[tool].begin_window(key, sync_execution=False)
        else:
            self.peers[tool].start_task(key)
        st["t0"] = time.perf_counter()
        st["edge_cpu_s"], st["edge_wall_s"] = time.thread_time() - c, st["t0"] - w
        return st

    def end(self, tool: str, key: str, st: dict[str, Any]) -> dict[str, Any]:
        t1 = time.perf_counter()
        c = time.thread_time()
        rec: dict[str, Any] = {"t0": st["t0"], "t1": t1}
        if tool == "wattprint":
            closed = self.ww.close_window(key)
            c1 = time.thread_time()
            closed_p = self.precise.close_window(key)
            rec.update(closed=closed, closed_p=closed_p, cpu_w=st["cpu_w"] + c1 - c,
                       cpu_p=st["cpu_p"] + time.thread_time() - c1)
        elif tool == "raw-nvml":
            rec["energy_j"] = self.gpu.counter_j() - st["e0"]
        elif tool.startswith("zeus"):
            m = self.peers[tool].end_window(key, sync_execution=False)
            rec["energy_j"] = sum(m.gpu_energy.values())
        else:
            rec["energy_j"] = self.peers[tool].stop_task(key).gpu_energy * 3.6e6
        rec["edge_cpu_s"] = st["edge_cpu_s"] + time.thread_time() - c
        rec["edge_wall_s"] = st["edge_wall_s"] + time.perf_counter() - t1
        return rec

    def close(self) -> None:
        self.ww.close()
        self.precise.close()
        cc = self.peers.get("codecarbon")
        if cc is not None:
            try:
                cc.stop()
            except Exception:  # noqa: BLE001 - closing a peer must not lose the results
                pass


def timeline_readings(meter: Meter, t0: float, t1: float, margin: float = 0.35) -> dict[str, Any]:
    """The meter's own counter readings (time, J; times from t0) and power-field samples (time, W) around a
    window, with the counter's refresh phase: enough to re-price the window's cut intervals later."""
    g = meter.backends[0].gpus[0]
    pt, pw, ct, ce, _ = g.timeline.snapshot()
    lo, hi = t0 - margin, t1 + margin
    return {"counter": [[round(t - t0, 5), round(e, 3)] for t, e in zip(ct, ce) if lo <= t <= hi],
            "power": [[round(t - t0, 5), round(w, 1)] for t, w in zip(pt, pw) if lo <= t <= hi],
            "phase_s": None if g.refresh.phase is None else round(g.refresh.phase - t0, 5),
            "period_s": g.refresh.period}


class Wattprint:
    """Resolves a wattprint window in the four modes: at once, and after the settle (polled)."""

    def __init__(self, tools: Tools) -> None:
        self.tools = tools

    def resolve(self, meter: Meter, closed: Any, cpu_edges: float) -> dict[str, Any]:
        c = time.thread_time()
        m = meter.measurement(closed)
        comp = m.components[0]
        return {"t0": closed.window.t0, "t1": closed.t1, "energy_j": comp.energy_j,
                "uncertainty_j": comp.uncertainty_j, "method": comp.method.value, "detail": comp.detail,
                "edge_cpu_s": cpu_edges + time.thread_time() - c,
                "readings": timeline_readings(meter, closed.window.t0, closed.t1)}

    def rows(self, rec: dict[str, Any], load: Load) -> list[tuple[str, dict[str, Any]]]:
        """Unsettled rows now; then hold the load until each meter's settle condition holds (or times out)."""
        load.after_edge()
        out = [("wattprint", self.resolve(self.tools.ww, rec["closed"], rec["cpu_w"])),
               ("wattprint-precise", self.resolve(self.tools.precise, rec["closed_p"], rec["cpu_p"]))]
        todo = {"wattprint-settled": (self.tools.ww, rec["closed"], rec["cpu_w"]),
                "wattprint-precise-settled": (self.tools.precise, rec["closed_p"], rec["cpu_p"])}
        start = time.perf_counter()
        got: dict[str, dict[str, Any]] = {}

        def poll() -> None:
            for name, (meter, closed, cpu) in list(todo.items()):
                ok = all(b.settled(closed.t1) for b in meter.backends if hasattr(b, "settled"))
                waited = time.perf_counter() - start
                if ok or waited >= SETTLE_TIMEOUT_S:
                    got[name] = {**self.resolve(meter, closed, cpu), "settled": ok, "settle_wait_s": waited}
                    del todo[name]

        while todo:
            load.settle_hold(poll)
        out += [(n, got[n]) for n in ("wattprint-settled", "wattprint-precise-settled")]
        return out


def _row(load: str, length: float, tool: str, rec: dict[str, Any], **extra: Any) -> dict[str, Any]:
    keep = {k: v for k, v in rec.items() if k not in ("closed", "closed_p", "cpu_w", "cpu_p")}
    return {"load": load, "length_s": length, "tool": tool, "duration_s": rec["t1"] - rec["t0"], **keep, **extra,
            "uncertainty_j": rec.get("uncertainty_j"), "method": rec.get("method")}


# ---- measuring a cell ----------------------------------------------------------------------------------
def measure_short(tools: Tools, load: Load, reps: int, out: list, budget: Budget, est: float) -> None:
    names = tools.names()
    wp = Wattprint(tools)
    last_wp = None
    for r in range(reps):
        order = names[r % len(names):] + names[:r % len(names)]  # rotate: drift falls on every tool alike
        for tool in order:
            if tool not in tools.names():
                continue
            budget.need(est, f"{load.kind} {load.length} s round {r} {tool}")
            load.gap()
            key = f"{load.kind}-{load.length}-{tool}-{r}"
            try:
                st = tools.begin(tool, key)
                body_s = load.body()
                rec = tools.end(tool, key, st)
            except Exception as e:  # noqa: BLE001 - a peer's failure; wattprint's own errors go on
                if tool == "wattprint":
                    raise
                tools.fail(tool, e)
                continue
            wid = f"{load.kind}-{load.length}-{r}-{tool}"
            if tool == "wattprint":
                gap = None if last_wp is None else rec["t0"] - last_wp
                last_wp = rec["t1"]
                for mode, rr in wp.rows(rec, load):
                    out.append(_row(load.kind, load.length, mode, rr, round=r, window=wid, body_s=body_s,
                                    since_prev_window_s=gap))
            else:
                load.after_edge()
                out.append(_row(load.kind, load.length, tool, rec, round=r, window=wid, body_s=body_s))


def measure_long(tools: Tools, load: Load, reps: int, out: list, budget: Budget, est: float) -> None:
    """Every tool around the same window, peers outermost; for steady the stream stays queued across the
    peers' edges (wattprint's own begin and end wait for the GPU, as they do in use)."""
    wp = Wattprint(tools)
    for r in range(reps):
        names = tools.names()[::-1]
        budget.need(est, f"{load.kind} {load.length} s window {r}")
        load.gap()
        wid = f"{load.kind}-{load.length}-{r}-nested"
        states = {}
        for tool in names:
            if tool == "wattprint":
                load.drain()
            try:
                states[tool] = tools.begin(tool, wid)
            except Exception as e:  # noqa: BLE001 - a peer's failure; wattprint's own errors go on
                if tool == "wattprint":
                    raise
                tools.fail(tool, e)
            if tool != "wattprint":
                load.after_edge()
        body_s = load.body()
        recs = {}
        for tool in reversed(names):
            if tool not in states:
                continue
            try:
                recs[tool] = tools.end(tool, wid, states[tool])
            except Exception as e:  # noqa: BLE001
                if tool == "wattprint":
                    raise
                tools.fail(tool, e)
            load.after_edge()
        for mode, rr in wp.rows(recs["wattprint"], load):
            out.append(_row(load.kind, load.length, mode, rr, round=r, window=wid, body_s=body_s))
        for tool in names:
            if tool != "wattprint" and tool in recs:
                out.append(_row(load.kind, load.length, tool, recs[tool], round=r, window=wid, body_s=body_s))
        load.drain()


def cell_seconds(kind: str, length: float, n_tools: int, reps: int, long_reps: int, edges: float) -> float:
    """Rough wall time of a cell (the up-front estimate and the --max-seconds checks)."""
    if length >= 1.0:
        gap = 0.05 + (0.07 if kind == "steady" else 0.0)
        return long_reps * (length + gap + edges + SETTLE_S)
    gap = 0.07 if kind == "steady" else 0.05
    if kind == "bursty":
        gap += max(1, math.ceil(0.15 / length)) * length
    per = length + gap
    return reps * (n_tools * per + edges + SETTLE_S)


# ---- statistics ----------------------------------------------------------------------------------------
def _binom_cdf(k: int, n: int) -> float:
    return sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n


def median_ci(xs: list[float], level: float = 0.90) -> tuple[float, float, float]:
    """Distribution-free interval for the median: (x_(j), x_(n+1-j)) with the largest j whose coverage
    1 - 2 P(Bin(n, 1/2) <= j-1) is still >= level; returns (low, high, coverage). n = 6 gives (min, max) at
    96.9%; below n = 5 no interval reaches 90% and (min, max) is returned with its lower coverage."""
    s, n = sorted(xs), len(xs)
    j = 1
    while j + 1 <= (n + 1) // 2 and 1 - 2 * _binom_cdf(j, n) >= level:
        j += 1
    return s[j - 1], s[n - j], 1 - 2 * _binom_cdf(j - 1, n)


def p_unpaired(a: list[float], b: list[float], draws: int = 20000) -> float:
    """One-sided exact permutation p of the Mann-Whitney statistic: how often a relabelling of the pooled
    values makes ``a`` at least as large against ``b`` as observed (H1: a tends to be larger)."""
    def u(x: list[float], y: list[float]) -> float:
        return sum(1.0 if xi > yi else 0.5 if xi == yi else 0.0 for xi in x for yi in y)

    pooled, n = a + b, len(a)
    obs = u(a, b)
    idx = range(len(pooled))
    if math.comb(len(pooled), n) <= draws:
        combos = itertools.combinations(idx, n)
    else:
        rng = random.Random(11)
        combos = (rng.sample(idx, n) for _ in range(draws))
    hits = total = 0
    for c in combos:
        cs = set(c)
        x = [pooled[i] for i in idx if i in cs]
        y = [pooled[i] for i in idx if i not in cs]
        hits += u(x, y) >= obs - 1e-12
        total += 1
    return hits / total


def p_paired(d: list[float]) -> float:
    """One-sided exact sign-flip p for mean(d) > 0 (d = wattprint's |error| minus the peer's, same windows)."""
    obs = sum(d)
    hits = total = 0
    for signs in itertools.product((1, -1), repeat=len(d)):
        hits += sum(s * x for s, x in zip(signs, d)) >= obs - 1e-12
        total += 1
    return hits / total


def score(rows: list[dict[str, Any]], truth_w: dict[tuple[str, float], float], idle_w: float) -> None:
    for r in rows:
        p = truth_w.get((r["load"], r["length_s"]))
        if p is None:
            r["truth_j"] = None
            continue
        if r["load"] == "bursty":  # the cycle at its mean power, any edge time outside it at idle power
            r["truth_j"] = p * r["body_s"] + idle_w * max(r["duration_s"] - r["body_s"], 0.0)
        else:
            r["truth_j"] = p * r["duration_s"]
        r["error_j"] = r["energy_j"] - r["truth_j"]
        r["rel_err"] = r["error_j"] / r["truth_j"] if r["truth_j"] else None
        if r["uncertainty_j"] is not None:
            r["covered"] = abs(r["error_j"]) <= r["uncertainty_j"]
        if r.get("exact_j"):
            r["rel_err_exact"] = (r["energy_j"] - r["exact_j"]) / r["exact_j"]


def summarise(rows: list[dict[str, Any]], key: str = "rel_err") -> list[dict[str, Any]]:
    cells: dict[tuple[str, float, str], list[dict[str, Any]]] = {}
    for r in rows:
        if r.get(key) is not None:
            cells.setdefault((r["load"], r["length_s"], r["tool"]), []).append(r)
    out = []
    for (load, length, tool), rs in sorted(cells.items()):
        errs = [100 * abs(x[key]) for x in rs]
        lo, hi, cov_ci = median_ci(errs)
        cov = [x["covered"] for x in rs if "covered" in x] if key == "rel_err" else \
            [abs(x["energy_j"] - x["exact_j"]) <= x["uncertainty_j"] for x in rs if x["uncertainty_j"] is not None]
        out.append({"load": load, "length_s": length, "tool": tool, "n": len(rs),
                    "median_abs_err_pct": statistics.median(errs), "ci90": [lo, hi], "ci_coverage": cov_ci,
                    "mean_err_pct": 100 * statistics.fmean(x[key] for x in rs),
                    "coverage": sum(cov) / len(cov) if cov else None,
                    "counter_share": (sum(x["method"] == "counter" for x in rs) / len(rs)) if rs[0]["method"] else None,
                    "edge_cpu_ms": 1000 * statistics.median(x["edge_cpu_s"] for x in rs) if "edge_cpu_s" in rs[0]
                    else None})
    return out


def compare(rows: list[dict[str, Any]], summary: list[dict[str, Any]], mode: str, peers: tuple[str, ...],
            key: str = "rel_err") -> list[dict[str, Any]]:
    """Per cell: ``mode`` against the best of ``peers`` (lowest median |error|), with the rule above."""
    by = {(s["load"], s["length_s"], s["tool"]): s for s in summary}
    errs: dict[tuple[str, float, str], dict[str, float]] = {}
    for r in rows:
        if r.get(key) is not None:
            errs.setdefault((r["load"], r["length_s"], r["tool"]), {})[r["window"]] = 100 * abs(r[key])
    out = []
    for load, length in sorted({(s["load"], s["length_s"]) for s in summary}):
        ours = by.get((load, length, mode))
        cands = [by[(load, length, p)] for p in peers if (load, length, p) in by]
        if ours is None:
            continue
        best = min(cands, key=lambda s: s["median_abs_err_pct"], default=None)
        res = {"load": load, "length_s": length, "mode": mode, "ours": ours, "best": best, "test": "", "p": None,
               "verdict": "no peer"}
        if best is not None:
            a, b = errs[(load, length, mode)], errs[(load, length, best["tool"])]
            common = sorted(set(a) & set(b))
            if length >= 1.0 and len(common) >= 2:  # nested: the same windows, paired
                d = [a[w] - b[w] for w in common]
                res["test"] = f"paired sign-flip, n={len(d)}"
                worse = ours["median_abs_err_pct"] > best["median_abs_err_pct"]
                p = p_paired(d if worse else [-x for x in d])
            else:
                res["test"] = f"Mann-Whitney, n={len(a)}/{len(b)}"
                worse = ours["median_abs_err_pct"] > best["median_abs_err_pct"]
                x, y = list(a.values()), list(b.values())
                p = p_unpaired(x, y) if worse else p_unpaired(y, x)
            res["p"] = p
            if p < ALPHA:
                res["verdict"] = "LOSES" if worse else "wins"
            else:
                res["verdict"] = "tie"
            res["ci_overlap"] = not (ours["ci90"][0] > best["ci90"][1] or best["ci90"][0] > ours["ci90"][1])
        out.append(res)
    return out


def _fmt(s: dict[str, Any] | None) -> str:
    if s is None:
        return "-"
    return f"{s['median_abs_err_pct']:.3g} [{s['ci90'][0]:.3g}, {s['ci90'][1]:.3g}]"


def verdict_table(cmp: list[dict[str, Any]], cpu: dict[tuple[str, float], dict[str, float]] | None = None
                  ) -> list[list[Any]]:
    head = ["load", "L s", "n", "wattprint % [90% CI]", "cov", "counter", "best peer", "peer % [90% CI]", "n",
            "test", "p", "verdict"]
    if cpu is not None:
        head += ["CPU ms/window"]
    rows = [head]
    for c in cmp:
        o, b = c["ours"], c["best"]
        row = [c["load"], c["length_s"], o["n"], _fmt(o), "-" if o["coverage"] is None else f"{o['coverage']:.2f}",
               "-" if o["counter_share"] is None else f"{o['counter_share']:.2f}",
               b["tool"] if b else "-", _fmt(b), b["n"] if b else "", c["test"],
               "" if c["p"] is None else f"{c['p']:.3f}", c["verdict"]]
        if cpu is not None:
            x = cpu.get((c["load"], c["length_s"]), {})
            row.append(f"{x.get(c['mode'], float('nan')):.1f}")
        rows.append(row)
    return rows


def cost_table(summary: list[dict[str, Any]], cpu: dict[tuple[str, float], dict[str, float]]) -> list[list[Any]]:
    """CPU per window: a peer's two edges (caller's thread); wattprint's edges and resolution, plus its sampler
    thread's CPU over the cell shared over the cell's wattprint windows."""
    tools = sorted({s["tool"] for s in summary})
    rows = [["load", "L s", *tools, "sampler % core (default/precise)"]]
    by = {(s["load"], s["length_s"], s["tool"]): s for s in summary}
    for load, length in sorted({(s["load"], s["length_s"]) for s in summary}):
        row: list[Any] = [load, length]
        for t in tools:
            s = by.get((load, length, t))
            if t in cpu.get((load, length), {}):
                row.append(f"{cpu[(load, length)][t]:.1f}")
            else:
                row.append("-" if s is None or s["edge_cpu_ms"] is None else f"{s['edge_cpu_ms']:.1f}")
        c = cpu.get((load, length), {})
        row.append(f"{c.get('sampler_pct_core_default', float('nan')):.2f}/"
                   f"{c.get('sampler_pct_core_precise', float('nan')):.2f}")
        rows.append(row)
    return rows


# ---- main ------------------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sim", action="store_true")
    ap.add_argument("--reps", type=int, default=6, help="windows per tool and cell under 1 s (rounds)")
    ap.add_argument("--long-reps", type=int, default=6, help="nested windows per cell of 1 s and more")
    ap.add_argument("--loads", default="steady,bursty,idle", help="in this order; --max-seconds cuts the last")
    ap.add_argument("--peers", default=",".join(PEERS))
    ap.add_argument("--short", default=",".join(map(str, SHORT)), help="lengths under 1 s, e.g. 0.013,0.037")
    ap.add_argument("--long", default=",".join(map(str, LONG)), help="lengths of 1 s and more, e.g. 1.07,3.1,10.3")
    ap.add_argument("--max-seconds", type=float, default=280.0,
                    help="stop measuring (cleanly: the JSON is still written) this long after the start")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    budget = Budget(args.max_seconds)

    def on_term(*_: Any) -> None:
        raise OutOfTime("SIGTERM")

    signal.signal(signal.SIGTERM, on_term)
    rng = random.Random(args.seed)
    gpu = Gpu(sim=args.sim or not has_gpu())
    tools = Tools(gpu, gpu.sim, args.peers.split(","))
    lengths = [float(x) for x in args.short.split(",") if x] + [float(x) for x in args.long.split(",") if x]
    loads = [x for x in args.loads.split(",") if x]
    n_tools = len(tools.names())
    edges = sum(EDGE_S.get(t, 0.01) for t in tools.names())
    plan = [(k, L, cell_seconds(k, L, n_tools, args.reps, args.long_reps, edges)) for k in loads for L in lengths]
    truth_s = 4.0 + sum(1.0 for k, _, _ in plan if k in ("steady", "idle")) + 1.5 * ("steady" in loads) \
        + 1.5 * ("idle" in loads) \
        + sum(0.6 if L < 1 else L for k, L, _ in plan if k == "bursty")
    est = sum(s for _, _, s in plan) + truth_s
    print(f"# plan: {len(plan)} cells, tools {tools.names()}, {args.reps} rounds (<1 s) / {args.long_reps} nested "
          f"(>=1 s); estimated {est:.0f} s of measuring ({truth_s:.0f} s of truths included) after "
          f"{budget.elapsed():.0f} s of start-up: ends at ~{budget.elapsed() + est:.0f} s; --max-seconds "
          f"{args.max_seconds:.0f}" + (" (the last cells will be cut)" if budget.elapsed() + est > args.max_seconds
                                        else ""), flush=True)

    rows: list[dict[str, Any]] = []
    truth: dict[tuple[str, float], float] = {}
    truths: list[dict[str, Any]] = []
    cpu: dict[tuple[str, float], dict[str, float]] = {}
    t_start = time.perf_counter()
    tools.ww.wait_ready(2.0)
    tools.precise.wait_ready(2.0)
    time.sleep(1.5)  # let the GPU settle to idle
    idle = idle_truth(gpu, 2.0)
    idle_w = idle["w"]
    truths.append({"load": "idle", "what": "idle at start", **idle})
    try:
        for kind in loads:
            stream = Load(gpu, kind, 0.1, rng)
            before = None
            if kind == "steady":
                budget.need(3.0, "the steady lead-in")
                stream.busy_for(1.0)
                before = steady_truth(stream, 1.5)
                truths.append({"load": kind, "what": "stream, before the first cell", **before})
            elif kind == "idle":  # idle power drifts with the card's temperature after the loads: measured
                budget.need(2.0, "the idle lead-in")  # around every idle cell, not only at the start
                time.sleep(0.5)
                before = idle_truth(gpu, 1.0)
                truths.append({"load": kind, "what": "idle, before the first cell", **before})
            for length in lengths:
                secs = next(s for k, L, s in plan if k == kind and L == length)
                load = Load(gpu, kind, length, rng)
                load.queued = stream.queued  # the steady stream goes on from cell to cell
                per_window = secs / (args.reps * n_tools if length < 1 else args.long_reps)
                budget.need(min(secs, 3 * per_window + 2), f"{kind} {length} s")
                cpu0 = (tools.ww.sampler_cpu_seconds() or 0.0, tools.precise.sampler_cpu_seconds() or 0.0)
                n0, t_cell = len(rows), time.perf_counter()
                if kind == "bursty":  # lead-in cycles, measured (the lead-in truth), then the cell's own train
                    load.idle_for(0.05)
                    ta0, ea0 = fresh_counter(gpu)
                    lead_end = ta0 + (0.6 if length < 1 else 0.0)
                    while time.perf_counter() < lead_end or load.cycles == 0:
                        load.cycle()
                    tb0, eb0 = fresh_counter(gpu)
                    truths.append({"load": kind, "length_s": length, "what": "lead-in cycles", "t": ta0,
                                   "span_s": tb0 - ta0, "cycles": load.cycles,
                                   "w": cycles_truth(ea0, eb0, tb0 - ta0, load.cycle_s, idle_w)})
                    ta, ea, load.cycle_s, load.cycles = tb0, eb0, 0.0, 0
                try:
                    if length < 1.0:
                        measure_short(tools, load, args.reps, rows, budget, per_window + 0.5)
                    else:
                        measure_long(tools, load, args.long_reps, rows, budget, per_window + 0.5)
                finally:
                    wins = sum(1 for r in rows[n0:] if r["tool"] == "wattprint")
                    cpu1 = (tools.ww.sampler_cpu_seconds() or 0.0, tools.precise.sampler_cpu_seconds() or 0.0)
                    if wins:
                        edge = {m: statistics.median(r["edge_cpu_s"] for r in rows[n0:] if r["tool"] == m)
                                for m in MODES}
                        cpu[(kind, length)] = {
                            m: 1000 * (edge[m] + (cpu1[1] - cpu0[1] if "precise" in m else cpu1[0] - cpu0[0]) / wins)
                            for m in MODES}
                        span = max(time.perf_counter() - t_cell, 1e-9)
                        cpu[(kind, length)].update({"sampler_pct_core_default": 100 * (cpu1[0] - cpu0[0]) / span,
                                                    "sampler_pct_core_precise": 100 * (cpu1[1] - cpu0[1]) / span})
                    if kind == "bursty" and load.cycles:
                        tb, eb = fresh_counter(gpu)
                        w = cycles_truth(ea, eb, tb - ta, load.cycle_s, idle_w)
                        truth[(kind, length)] = w
                        truths.append({"load": kind, "length_s": length, "what": "the cell's train", "t": ta,
                                       "span_s": tb - ta, "cycles": load.cycles, "cycle_s": load.cycle_s, "w": w})
                    elif kind == "steady":
                        after = steady_truth(load, 1.0)
                        truths.append({"load": kind, "length_s": length, "what": "stream, after the cell", **after})
                        truth[(kind, length)] = (before["w"] + after["w"]) / 2 if before else after["w"]
                        before = after
                    elif kind == "idle":
                        after = idle_truth(gpu, 1.0)
                        truths.append({"load": kind, "length_s": length, "what": "idle, after the cell", **after})
                        truth[(kind, length)] = (before["w"] + after["w"]) / 2 if before else after["w"]
                        before = after
            stream.drain()
    except OutOfTime as e:
        budget.stopped = budget.stopped or str(e)
        print(f"# {budget.stopped}", flush=True)
    finally:
        try:
            gpu.wait(gpu.queue(0.001))
        except Exception:  # noqa: BLE001
            pass
    wall = time.perf_counter() - t_start
    if gpu.sim:
        for r in rows:
            r["exact_j"] = gpu.trace.energy(r["t0"], r["t1"])
    score(rows, truth, idle_w)
    summary = summarise(rows)
    peers_here = tuple(p for p in PEERS if any(x["tool"] == p for x in summary)) or ("raw-nvml",)
    comparisons = {m: compare(rows, summary, m, peers_here) for m in MODES}
    short = [r for r in rows if r["length_s"] < 1 and "covered" in r]
    coverage_short = {m: (sum(r["covered"] for r in short if r["tool"] == m) /
                          max(1, sum(1 for r in short if r["tool"] == m))) for m in MODES}
    headline = comparisons[HEADLINE]
    met = (not budget.stopped and len(headline) == len(plan) and all(c["verdict"] != "LOSES" for c in headline)
           and coverage_short[HEADLINE] >= 0.9)
    doc = {"version": 2, "environment": environment(gpu), "args": vars(args), "estimate_s": est, "wall_s": wall,
           "elapsed_since_process_start_s": budget.elapsed(), "stopped": budget.stopped,
           "idle_w": idle_w, "truth_w": {f"{k[0]}@{k[1]}": v for k, v in truth.items()}, "truths": truths,
           "tool_errors": tools.errors, "peers_compared": peers_here, "headline_mode": HEADLINE,
           "coverage_short": coverage_short, "criterion_met": met,
           # counter readings that still held an earlier refresh's value (late refreshes: read again, not filed)
           "late_refreshes": {name: sum(getattr(g, "late_refreshes", 0) for b in m.backends
                                        for g in getattr(b, "gpus", ()))
                              for name, m in (("default", tools.ww), ("precise", tools.precise))},
           "cpu_ms_per_window": {f"{k[0]}@{k[1]}": v for k, v in cpu.items()},
           "summary": summary, "comparisons": {m: [{**c, "ours": c["ours"]["tool"],
                                                    "best": c["best"]["tool"] if c["best"] else None}
                                                   for c in cs] for m, cs in comparisons.items()},
           "rows": rows}
    if gpu.sim:
        sx = summarise(rows, "rel_err_exact")
        doc["summary_exact"] = sx
        doc["comparisons_exact"] = {m: [{**c, "ours": c["ours"]["tool"], "best": c["best"]["tool"] if c["best"]
                                         else None} for c in compare(rows, sx, m, ("raw-nvml",), "rel_err_exact")]
                                    for m in (HEADLINE, "wattprint")}
    tools.close()
    path = save("meter_vs_peers.json", doc)
    e = doc["environment"]
    print(f"# meter_vs_peers v2: {e['gpu']} driver {e['driver']} {e['date_utc']} sim={e['simulated']} "
          f"wall {wall:.0f} s (estimate {est:.0f} s; {budget.elapsed():.0f} s since start); idle {idle_w:.1f} W; "
          f"truth W {{{', '.join(f'{k}: {v:.1f}' for k, v in doc['truth_w'].items())}}}; peers {list(tools.peers)} "
          f"{tools.errors or ''}; late refreshes {doc['late_refreshes']}; rows -> {path}")
    print(f"# HEADLINE: {HEADLINE} (bench runner: 10 counter reads/s, settled) vs the best of {peers_here}; "
          f"loses a cell only if its median |error| is higher and p < {ALPHA}")
    print(table(verdict_table(headline)))
    print("# short-window coverage (L < 1 s, all loads): "
          + ", ".join(f"{m} {v:.2f}" for m, v in coverage_short.items()))
    print(f"# issue #7 criterion ({HEADLINE}: no cell lost, short coverage >= 0.9): "
          f"{'MET' if met else 'not decided (run incomplete)' if budget.stopped else 'NOT met'}")
    for m in ("wattprint", "wattprint-settled"):
        print(f"# {m} (default budget, 0.5 counter reads/s) vs the best peer; CPU ms/window = edges + sampler "
              "share of the cell")
        print(table(verdict_table(comparisons[m], cpu)))
    print("# CPU ms per window (peers: their two edges in the caller's thread; wattprint: edges + resolution + "
          "its sampler's CPU over the cell / its windows)")
    print(table(cost_table(summary, cpu)))
    if gpu.sim:
        print("# simulation, against each window's exact energy (raw-nvml = what Zeus/CodeCarbon report):")
        for m in doc["comparisons_exact"]:
            print(f"# {m}")
            print(table(verdict_table(compare(rows, doc['summary_exact'], m, ("raw-nvml",), "rel_err_exact"))))
    if budget.stopped:
        print(f"# INCOMPLETE: {budget.stopped}")


if __name__ == "__main__":
    main()
