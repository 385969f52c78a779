"""Check the meter on a real GPU (the H100) with known loads; simulated where no GPU exists.

    PYTHONPATH=src python benchmarks/gpu_meter_check.py [--sim]

1. Cost of each NVML reading (wall and CPU time per call): energy counter, instant field, average power.
2. How often the counter and the instant field change, and whether they change together.
3. How late the instant field follows a known on/off schedule (its lag), which the timeline corrects.
4. Idle, a matmul loop, a periodic bursty load (200 ms on / 200 ms off) and an irregular one (bursts and
   gaps of 30-250 ms drawn at random, seeded), windows of 2.5 s (and ``--long`` s for the bursty loads): the
   meter with the counter, the meter forced to sample, the raw counter read at the edges, and nvidia-smi's
   power.draw and power.draw.instant integrated. Counter and sampled must agree within 2%. The periodic load
   is the worst case for a sampled meter: its 400 ms period is a multiple of the power field's 100 ms refresh,
   so the field's point samples keep hitting the same phases of each cycle (aliasing) for seconds on end.
   Windows are refresh-aligned: each starts and ends right after a counter refresh (the counter is polled
   until it changes), so the raw counter difference is the exact energy of that span (truth); every meter is
   resolved over exactly that span (``backend.energy`` over the two refresh instants) and nvidia-smi and the
   average field are integrated over it. The load runs in its own thread across the edges (a service, not a
   load that stops for the edge), so the meters' edges skip their CUDA synchronisation (it would wait for
   the load thread's queued work; the span is a time span, what was queued is irrelevant to it).
   Two meters run side by side: the counter path and the sampled path (field held forward as a point sample).
   (Until the H200 refresh study a third ran with the field held backward as a refresh-interval mean; the
   study found the field to be a point sample and that meter mode was removed, docs/benchmarks/gpu_meter_check.md.)
5. The meter's own cost: begin+end median on the counter path, and its sampler thread's CPU share.
6. Refresh study (``--study-seconds``, default 5 per load): under the irregular and the periodic bursty loads,
   the counter is polled back to back (~3 ms a read on Hopper) and the instant field (186), the average field
   (185) and nvmlDeviceGetPowerUsage every ~1 ms in another thread; every change is recorded (time, value).
   Per counter refresh interval: its exact mean power (increment / dt) against the instant field at the same
   refresh and the next one, and which alignment of the field reproduces the counter increments best (mean
   absolute % error per interval and per 1 s): held forward from its change (a point sample, shifted by a
   lag), held backward over the interval that ends at its change (a refresh-interval mean), best shift of each.
Writes gpu_meter_check.json under $OUT (or .devout/) and prints tables.
"""

from __future__ import annotations

import argparse
import bisect
import random
import statistics
import subprocess
import threading
import time
from typing import Any

import wattprint.meter.meter as meter_mod
from meter_common import Gpu, environment, has_gpu, save, table
from wattprint.meter.backends.base import Mark
from wattprint.meter.meter import Meter


def read_costs(gpu: Gpu) -> dict[str, Any]:
    out = {}
    for name, fn, n in (("counter", gpu.counter_j, 100), ("instant_field", gpu.instant_w, 2000),
                        ("power_usage", lambda: gpu.nvml.nvmlDeviceGetPowerUsage(gpu.handle), 2000)):
        w0, c0 = time.perf_counter(), time.thread_time()
        for _ in range(n):
            fn()
        out[name] = {"wall_us": (time.perf_counter() - w0) / n * 1e6, "cpu_us": (time.thread_time() - c0) / n * 1e6}
    return out


def tick_probe(gpu: Gpu, seconds: float, bursty: bool) -> dict[str, Any]:
    """Read counter and field back to back; when does each change, and do they change together?"""
    stop = time.perf_counter() + seconds
    if bursty:
        th = threading.Thread(target=_bursts, args=(gpu, seconds, 0.2, []), daemon=True)
        th.start()
    c_changes, f_changes, last_c, last_f = [], [], None, None
    while time.perf_counter() < stop:
        c = gpu.counter_j()
        t = time.perf_counter()
        f = gpu.instant_w()
        if last_c is not None and c != last_c:
            c_changes.append(t)
        if last_f is not None and f != last_f:
            f_changes.append(t)
        last_c, last_f = c, f
    if bursty:
        th.join()
    near = [min(abs(a - b) for b in f_changes) for a in c_changes] if f_changes else []
    return {"counter_period_ms": _median_gap(c_changes), "field_period_ms": _median_gap(f_changes),
            "counter_to_nearest_field_change_ms_median": statistics.median(near) * 1e3 if near else None}


def _median_gap(ts: list[float]) -> float | None:
    gaps = [b - a for a, b in zip(ts, ts[1:])]
    return statistics.median(gaps) * 1e3 if gaps else None


def _bursts(gpu: Gpu, seconds: float, half: float, schedule: list[tuple[float, float]]) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t_on = time.perf_counter()
        gpu.op(half)
        schedule.append((t_on, time.perf_counter()))
        time.sleep(half)


def lag_probe(gpu: Gpu, seconds: float) -> dict[str, Any]:
    """Fit the delay between the known burst schedule and the instant field (5 ms samples)."""
    schedule: list[tuple[float, float]] = []
    samples: list[tuple[float, float]] = []
    th = threading.Thread(target=_bursts, args=(gpu, seconds, 0.2, schedule), daemon=True)
    th.start()
    while th.is_alive():
        samples.append((time.perf_counter(), gpu.instant_w()))
        time.sleep(0.005)
    lo, hi = min(w for _, w in samples), max(w for _, w in samples)
    mid = (lo + hi) / 2

    def on(t: float) -> bool:
        return any(a <= t < b for a, b in schedule)

    scores = {}
    for lag_ms in range(0, 301, 10):
        ok = sum((w > mid) == on(t - lag_ms / 1e3) for t, w in samples)
        scores[lag_ms] = ok / len(samples)
    best = max(scores, key=scores.get)
    return {"best_lag_ms": best, "agreement_at_best": scores[best], "agreement_at_0": scores[0],
            "low_w": lo, "high_w": hi, "scores": scores}


class AvgField:
    """NVML_FI_DEV_POWER_AVERAGE (field 185: power averaged over the last second, Ampere and newer, per nvml.h)
    polled every 20 ms in the background. Integrated over the window shifted by half the averaging length, it
    weighs the true power with a trapezoid centred on the window: a candidate for sampled energy that does not
    alias a bursty load the way 100 ms point samples of the instant field do."""

    AVERAGE_S = 1.0

    def __init__(self, gpu: Gpu) -> None:
        self.gpu, self.rows, self._stop = gpu, [], threading.Event()
        self.th = threading.Thread(target=self._run, daemon=True)
        self.th.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            fv = self.gpu.nvml.nvmlDeviceGetFieldValues(self.gpu.handle, [185])[0]
            if fv.nvmlReturn == 0:
                self.rows.append((time.perf_counter(), fv.value.uiVal / 1000.0))
            time.sleep(0.02)

    def energy(self, a: float, b: float) -> float | None:
        lo, hi = a + self.AVERAGE_S / 2, b + self.AVERAGE_S / 2
        pts = [r for r in self.rows if lo <= r[0] <= hi]
        if len(pts) < 3:
            return None
        return statistics.fmean(w for _, w in pts) * (b - a)

    def close(self) -> None:
        self._stop.set()


class Smi:
    """nvidia-smi power.draw and power.draw.instant every 50 ms in the background."""

    def __init__(self) -> None:
        self.rows: list[tuple[float, float, float]] = []
        self.p = subprocess.Popen(["nvidia-smi", "--query-gpu=power.draw,power.draw.instant",
                                   "--format=csv,noheader,nounits", "-i", "0", "-lms", "50"],
                                  stdout=subprocess.PIPE, text=True)
        self.th = threading.Thread(target=self._read, daemon=True)
        self.th.start()

    def _read(self) -> None:
        for line in self.p.stdout:
            parts = [x.strip() for x in line.split(",")]
            try:
                self.rows.append((time.perf_counter(), float(parts[0]), float(parts[1])))
            except (ValueError, IndexError):
                continue

    def energy(self, a: float, b: float, col: int) -> float | None:
        pts = [r for r in self.rows if a <= r[0] <= b]
        if len(pts) < 3:
            return None
        return statistics.fmean(r[col] for r in pts) * (b - a)

    def close(self) -> None:
        self.p.terminate()


def loads(gpu: Gpu, window_s: float, reps: int, long_s: float = 0.0) -> dict[str, Any]:
    meters = {"counter": Meter(backends=[gpu.meter_backend()]),
              "sampled": Meter(backends=[gpu.meter_backend(use_counter=False)])}
    smi = None if gpu.sim else Smi()
    avg = None if gpu.sim else AvgField(gpu)
    time.sleep(1.0)
    rows = []
    sync, meter_mod.cuda_sync = meter_mod.cuda_sync, lambda: None  # the load runs in another thread (above)
    try:
        for load in ("idle", "matmul", "bursty", "bursty-irregular", "idle-after"):
            for rep in range(reps if load.startswith("bursty") else 1):
                rows.append(_one_window(gpu, load, window_s, meters, smi, avg, seed=rep))
                print(f"  window {load} {window_s} s done", flush=True)
        if long_s:
            for load in ("bursty", "bursty-irregular"):
                rows.append(_one_window(gpu, load, long_s, meters, smi, avg, seed=100))
                print(f"  window {load} {long_s} s done", flush=True)
    finally:
        meter_mod.cuda_sync = sync
    out = {"rows": rows}
    for k, m in meters.items():
        out[f"{k}_meter_cpu_share"] = m.sampler_cpu_share()
        m.close()
    if smi:
        smi.close()
    if avg:
        avg.close()
    return out


def _run_load(gpu: Gpu, load: str, end: float, rng: random.Random, stop: threading.Event | None = None,
              schedule: list[tuple[float, float]] | None = None) -> None:
    def op(seconds: float) -> None:
        t = time.perf_counter()
        gpu.op(seconds)
        if schedule is not None:
            schedule.append((t, time.perf_counter()))

    while time.perf_counter() < end and not (stop is not None and stop.is_set()):
        if load == "matmul":
            op(min(0.1, end - time.perf_counter()))
        elif load == "bursty":
            op(0.2)
            time.sleep(max(min(0.2, end - time.perf_counter()), 0))
        elif load == "bursty-irregular":
            op(min(rng.uniform(0.03, 0.25), max(end - time.perf_counter(), 0.001)))
            time.sleep(max(min(rng.uniform(0.03, 0.25), end - time.perf_counter()), 0))
        else:
            time.sleep(0.05)


class _LoadThread:
    """A load running in its own thread until stopped (idle loads run nothing)."""

    def __init__(self, gpu: Gpu, load: str, seed: int) -> None:
        self.stop = threading.Event()
        self.th = None
        self.schedule: list[tuple[float, float]] = []  # (start, end) of each burst of work
        if load not in ("idle", "idle-after"):
            self.th = threading.Thread(target=_run_load, args=(gpu, load, time.perf_counter() + 600,
                                                               random.Random(seed), self.stop, self.schedule),
                                       daemon=True)
            self.th.start()

    def close(self) -> None:
        self.stop.set()
        if self.th is not None:
            self.th.join(2.0)


def wait_refresh(gpu: Gpu, timeout: float = 0.5) -> tuple[float, float]:
    """Poll the counter until its value changes; (refresh instant, counter J at it). The instant is the middle
    between the last read that saw the old value and the first that saw the new one (+-1.5-2 ms on Hopper)."""
    a = time.perf_counter()
    first = gpu.counter_j()
    b = time.perf_counter()
    prev_mid, deadline = (a + b) / 2, b + timeout
    while time.perf_counter() < deadline:
        if gpu.sim:
            time.sleep(0.002)
        a = time.perf_counter()
        e = gpu.counter_j()
        b = time.perf_counter()
        if e != first:
            return (prev_mid + (a + b) / 2) / 2, e
        prev_mid = (a + b) / 2
    raise RuntimeError("the energy counter did not change within 0.5 s")


def _pct(x: float | None, truth: float) -> float | None:
    return None if x is None or truth <= 0 else 100 * (x / truth - 1)


def _one_window(gpu: Gpu, load: str, window_s: float, meters: dict[str, Meter], smi: Smi | None,
                avg: AvgField | None = None, seed: int = 0) -> dict:
    lt = _LoadThread(gpu, load, seed)
    try:
        # the same load for a second before the window (a running service, not a cold start)
        time.sleep(1.0 if load != "idle-after" else 0.0)
        t0, e0 = wait_refresh(gpu)
        for m in meters.values():
            m.begin("w")
        time.sleep(max(t0 + window_s - 0.12 - time.perf_counter(), 0))
        t1, e1 = wait_refresh(gpu)
        closed = {k: m.close_window("w") for k, m in meters.items()}
        # the readings after the span's end (counter: the next two refreshes),
        # and half the average field's length, which its shifted integral reaches into
        time.sleep(max(0.3, AvgField.AVERAGE_S / 2 + 0.1) if avg else 0.3)
    finally:
        lt.close()
    truth = e1 - e0  # exact: both readings right after a refresh, the span is refresh to refresh
    row: dict[str, Any] = {"load": load, "span_s": t1 - t0, "truth_j": truth, "truth_w": truth / (t1 - t0)}
    for k, m in meters.items():
        (c,) = m.backends[0].energy(Mark(t0), Mark(t1)).components  # the meter over exactly the span
        row[f"{k}_j"], row[f"{k}_unc_j"], row[f"{k}_method"] = c.energy_j, c.uncertainty_j, c.method.value
        row[f"{k}_vs_truth_pct"] = _pct(c.energy_j, truth)
        # the same meter over its own begin/end window (edges ~2 ms after the refreshes), vs the span's truth
        (w,) = m.measurement(closed[k]).components
        dur = closed[k].t1 - closed[k].window.t0
        row[f"{k}_window_vs_truth_pct"] = _pct(w.energy_j / dur * (t1 - t0), truth)
    row["sampled_vs_counter_pct"] = _pct(row["sampled_j"], row["counter_j"])
    if avg:
        v = avg.energy(t0, t1)
        row["avg_field_j"], row["avg_field_vs_truth_pct"] = v, _pct(v, truth)
    if smi:
        for col, key in ((1, "smi_power_draw"), (2, "smi_power_draw_instant")):
            v = smi.energy(t0, t1, col)
            row[f"{key}_j"], row[f"{key}_vs_truth_pct"] = v, _pct(v, truth)
    return row


# ---- refresh study ----------------------------------------------------------------------------------
def _field_raw(gpu: Gpu, fid: int) -> float | None:
    fv = gpu.nvml.nvmlDeviceGetFieldValues(gpu.handle, [fid])[0]
    if fv.nvmlReturn != 0:
        return None
    v = fv.value
    return float({0: v.dVal, 1: v.uiVal, 2: v.ulVal, 3: v.ullVal, 4: v.sllVal, 5: v.siVal}.get(fv.valueType, v.uiVal))


def refresh_study(gpu: Gpu, load: str, seconds: float, seed: int = 7) -> dict[str, Any]:
    """Record every change of the counter and of the power fields under ``load`` for ``seconds``."""
    lt = _LoadThread(gpu, load, seed)
    fields: list[list[float | None]] = []  # [t_prev_read, t_read, f186 W, f185 W, power_usage W] at each change
    counter: list[list[float]] = []  # [t_prev_read_mid, t_read_mid, counter J] at each change
    stop = threading.Event()

    def poll_fields() -> None:
        last, t_prev = None, None
        while not stop.is_set():
            t = time.perf_counter()
            f186, f185 = _field_raw(gpu, 186), _field_raw(gpu, 185)
            pu = gpu.nvml.nvmlDeviceGetPowerUsage(gpu.handle)
            cur = (None if f186 is None else f186 / 1e3, None if f185 is None else f185 / 1e3, pu / 1e3)
            if last is not None and cur != last:
                fields.append([t_prev, t, *cur])
            elif last is None:
                fields.append([t, t, *cur])
            last, t_prev = cur, t
            time.sleep(0.001)

    try:
        time.sleep(1.0)  # the load is running
        th = threading.Thread(target=poll_fields, daemon=True)
        th.start()
        end = time.perf_counter() + seconds
        last, prev_mid = None, None
        while time.perf_counter() < end:
            a = time.perf_counter()
            e = gpu.counter_j()
            b = time.perf_counter()
            mid = (a + b) / 2
            if last is None or e != last:
                counter.append([prev_mid if prev_mid is not None else mid, mid, e])
            last, prev_mid = e, mid
            if gpu.sim:
                time.sleep(0.002)  # the simulated read is free: pace it like a real one
        stop.set()
        th.join(1.0)
    finally:
        lt.close()
    out = {"load": load, "seconds": seconds, "counter_changes": counter, "field_changes": fields,
           "schedule": lt.schedule}
    out["analysis"] = analyse_refreshes(counter, fields)
    out["analysis"]["schedule_fit"] = fit_schedule(lt.schedule, fields)
    return out


def _on_fraction(schedule: list[tuple[float, float]], a: float, b: float) -> float:
    """Share of [a, b] during which a burst of work ran."""
    i = max(bisect.bisect_right([s for s, _ in schedule], a) - 1, 0)
    on = 0.0
    for s, e in schedule[i:]:
        if s >= b:
            break
        on += max(min(e, b) - max(s, a), 0.0)
    return on / (b - a)


def _field_changes(fields: list[list[Any]]) -> list[tuple[float, float]]:
    """(time, W) of each change of the instant field (186) in the recorded rows: the middle of the read that saw
    the new value; a value read again is not a change (the first row is only a start value)."""
    out, last = [], fields[0][2] if fields else None
    for p, m, f, _, _ in fields[1:]:
        if f is not None and f != last:
            out.append(((p + m) / 2, f))
            last = f
    return out


def fit_schedule(schedule: list[tuple[float, float]], fields: list[list[Any]]) -> dict[str, Any]:
    """What does field 186 hold at each refresh? Against the known burst schedule (busy from a burst's launch to
    its synchronisation), each hypothesis predicts the share of busy time behind each field value: a point
    sample at ``lag`` before the change (0 or 1), or the mean over the ``period`` ending ``lag`` before it. A
    linear fit value = idle_w + (busy_w - idle_w) x share per hypothesis; the better hypothesis leaves the
    smaller residual (RMSE, W). The change times are known to ~1 ms."""
    f186 = _field_changes(fields)
    if len(schedule) < 5 or len(f186) < 10:
        return {"error": "too little data"}
    lo, hi = schedule[0][0] + 0.3, schedule[-1][1]
    pts = [(t, v) for t, v in f186 if lo <= t <= hi]
    period = statistics.median(b[0] - a[0] for a, b in zip(f186, f186[1:]))

    def fit(xs: list[float], ys: list[float]) -> tuple[float, float, float]:
        mx, my = statistics.fmean(xs), statistics.fmean(ys)
        sxx = sum((x - mx) ** 2 for x in xs)
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx > 0 else 0.0
        icpt = my - slope * mx
        rmse = (statistics.fmean((y - icpt - slope * x) ** 2 for x, y in zip(xs, ys))) ** 0.5
        return rmse, icpt, icpt + slope

    res: dict[str, Any] = {"field_period_ms": period * 1e3, "n": len(pts)}
    for kind in ("point", "mean"):
        scan = []
        for lag_ms in range(0, 152, 4):
            lag = lag_ms / 1e3
            if kind == "point":
                xs = [_on_fraction(schedule, t - lag - 0.001, t - lag + 0.001) for t, _ in pts]
            else:
                xs = [_on_fraction(schedule, t - lag - period, t - lag) for t, _ in pts]
            rmse, idle_w, busy_w = fit(xs, [v for _, v in pts])
            scan.append({"lag_ms": lag_ms, "rmse_w": rmse, "idle_w": idle_w, "busy_w": busy_w})
        res[kind] = min(scan, key=lambda r: r["rmse_w"])
        res[f"{kind}_scan"] = scan
    res["better"] = "mean" if res["mean"]["rmse_w"] < res["point"]["rmse_w"] else "point"
    return res


def _hold_integral(ts: list[float], vs: list[float], a: float, b: float) -> float | None:
    """Integral over [a, b] of the step function that is vs[i] on [ts[i], ts[i+1]) (None outside ts)."""
    if not ts or a < ts[0] or b > ts[-1]:
        return None
    total, i = 0.0, max(bisect.bisect_right(ts, a) - 1, 0)
    t = a
    while t < b and i < len(ts) - 1:
        seg = min(ts[i + 1], b)
        total += vs[i] * (seg - t)
        t, i = seg, i + 1
    return total


def analyse_refreshes(counter: list[list[float]], fields: list[list[Any]]) -> dict[str, Any]:
    """Counter refresh intervals against the instant field under each alignment."""
    # refresh instants: the middle of the two reads around each change (the first row is only a start value)
    cr = [((p + m) / 2, e) for p, m, e in counter[1:]]
    f186 = _field_changes(fields)
    if len(cr) < 3 or len(f186) < 3:
        return {"error": f"too few changes (counter {len(cr)}, field {len(f186)})"}
    intervals = [(cr[i - 1][0], cr[i][0], cr[i][1] - cr[i - 1][1]) for i in range(1, len(cr))]
    ft = [t for t, _ in f186]
    fv = [v for _, v in f186]

    def predict(kind: str, shift: float, a: float, b: float) -> float | None:
        if kind == "forward":  # value j on [f_j + shift, f_{j+1} + shift)
            return _hold_integral([t + shift for t in ft], fv, a, b)
        # backward: value j on [f_{j-1} + shift, f_j + shift)
        return _hold_integral([t + shift for t in ft[:-1]], fv[1:], a, b)

    def score(kind: str, shift: float) -> dict[str, float] | None:
        errs, sums = [], []
        for a, b, de in intervals:
            p = predict(kind, shift, a, b)
            if p is not None and de > 0:
                errs.append(p / de - 1)
                sums.append((a, b, de, p))
        if len(errs) < 5:
            return None
        # 1 s spans: 10 consecutive refresh intervals
        spans = [(sum(x[2] for x in sums[i:i + 10]), sum(x[3] for x in sums[i:i + 10])) for i in range(len(sums) - 9)]
        return {"shift_ms": round(shift * 1e3, 1), "n": len(errs),
                "mae_pct": 100 * statistics.fmean(abs(e) for e in errs), "bias_pct": 100 * statistics.fmean(errs),
                "mae_1s_pct": 100 * statistics.fmean(abs(p / d - 1) for d, p in spans) if spans else None}

    shifts = [s / 1e3 for s in range(-150, 55, 5)]
    fwd = [r for r in (score("forward", s) for s in shifts) if r]
    bwd = [r for r in (score("backward", s) for s in shifts if abs(s) <= 0.05) if r]
    out: dict[str, Any] = {
        "counter_refresh_ms_median": statistics.median(b - a for a, b, _ in intervals) * 1e3,
        "field_refresh_ms_median": statistics.median(b - a for a, b in zip(ft, ft[1:])) * 1e3,
        "field_change_after_counter_refresh_ms_median": statistics.median(
            min((t - c for t in ft if t >= c), default=float("nan")) for c, _ in cr) * 1e3,
        "forward_point_0ms": score("forward", 0.0), "forward_lag_20ms": score("forward", -0.02),
        "backward_0ms": score("backward", 0.0),
        "forward_best": min(fwd, key=lambda r: r["mae_pct"]) if fwd else None,
        "backward_best": min(bwd, key=lambda r: r["mae_pct"]) if bwd else None,
        "forward_scan": fwd, "backward_scan": bwd,
    }
    per = []
    for a, b, de in intervals:
        i_at = bisect.bisect_right(ft, b) - 1
        per.append({"t_ms": round((b - intervals[0][0]) * 1e3, 1), "dt_ms": round((b - a) * 1e3, 1),
                    "counter_w": de / (b - a), "field_at_refresh_w": fv[i_at] if i_at >= 0 else None,
                    "field_next_w": fv[i_at + 1] if i_at + 1 < len(fv) else None,
                    "field_next_after_ms": round((ft[i_at + 1] - b) * 1e3, 1) if i_at + 1 < len(ft) else None})
    out["per_refresh"] = per
    cands = [("forward (point sample, held from its change)", out["forward_point_0ms"]),
             ("forward, 20 ms lag (the meter's default)", out["forward_lag_20ms"]),
             ("backward (refresh-interval mean)", out["backward_0ms"]),
             ("forward, best shift", out["forward_best"]), ("backward, best shift", out["backward_best"])]
    best = min((c for c in cands if c[1]), key=lambda c: c[1]["mae_pct"])
    out["best"] = {"alignment": best[0], **best[1]}
    return out


def own_cost(gpu: Gpu) -> dict[str, Any]:
    m = Meter(backends=[gpu.meter_backend()])
    times = []
    for _ in range(2000):
        t = time.perf_counter()
        m.begin("w")
        m.end("w")
        times.append(time.perf_counter() - t)
    m.close()
    times.sort()
    return {"begin_end_median_us": times[len(times) // 2] * 1e6, "begin_end_p90_us": times[int(len(times) * .9)] * 1e6}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sim", action="store_true", help="simulated H100 (default where no GPU is found)")
    ap.add_argument("--window", type=float, default=2.5)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--long", type=float, default=0.0, help="also one window this long per bursty load (e.g. 10)")
    ap.add_argument("--no-probes", action="store_true", help="skip the tick and lag probes")
    ap.add_argument("--study-seconds", type=float, default=5.0,
                    help="refresh study: seconds per load (irregular and periodic bursty); 0 skips it")
    ap.add_argument("--no-windows", action="store_true", help="skip the windows (section 4)")
    ap.add_argument("--sim-field", choices=["point", "mean"], default="point",
                    help="--sim: what the simulated instant field holds at each refresh")
    args = ap.parse_args()
    t_start = time.perf_counter()
    gpu = Gpu(sim=args.sim or not has_gpu())
    if gpu.sim:
        gpu.nvml.gpus[0].field_mode = args.sim_field
        if args.sim_field == "mean":
            gpu.nvml.gpus[0].field_lag_s = 0.0
    doc: dict[str, Any] = {"environment": environment(gpu), "read_costs": read_costs(gpu)}
    print(f"# start {doc['environment']['gpu']}", flush=True)
    if args.study_seconds > 0:
        doc["refresh_study"] = {}
        for load in ("bursty-irregular", "bursty"):
            doc["refresh_study"][load] = refresh_study(gpu, load, args.study_seconds)
            save("gpu_meter_check.json", doc)
            _print_study(load, doc["refresh_study"][load]["analysis"])
    if not args.no_probes:
        doc["ticks_idle"] = tick_probe(gpu, 1.0, bursty=False)
        doc["ticks_bursty"] = tick_probe(gpu, 1.6, bursty=True)
        doc["lag"] = lag_probe(gpu, 3.2)
    if not args.no_windows:
        doc["loads"] = loads(gpu, args.window, args.reps, args.long)
    doc["own_cost"] = own_cost(gpu)
    doc["total_s"] = time.perf_counter() - t_start
    save("gpu_meter_check.json", doc)
    _print(doc)


def _print_study(load: str, a: dict[str, Any]) -> None:
    print(f"## refresh study, {load}")
    if "error" in a:
        print(a["error"], flush=True)
        return
    print(f"counter refresh {a['counter_refresh_ms_median']:.1f} ms, "
          f"field 186 refresh {a['field_refresh_ms_median']:.1f} ms, "
          f"field change after a counter refresh: median {a['field_change_after_counter_refresh_ms_median']:.1f} ms")
    rows = [["t ms", "dt ms", "counter W", "186 at refresh W", "186 next W", "next after ms"]]
    rows += [[r["t_ms"], r["dt_ms"], r["counter_w"], r["field_at_refresh_w"], r["field_next_w"],
              r["field_next_after_ms"]] for r in a["per_refresh"][:30]]
    print(table(rows))
    rows = [["alignment of field 186", "shift ms", "MAE % per refresh", "bias %", "MAE % per 1 s"]]
    for label, key in (("forward, held from its change", "forward_point_0ms"),
                       ("forward, 20 ms lag (meter)", "forward_lag_20ms"),
                       ("backward (interval mean)", "backward_0ms"), ("forward, best shift", "forward_best"),
                       ("backward, best shift", "backward_best")):
        r = a.get(key)
        if r:
            mae_1s = r["mae_1s_pct"] if r["mae_1s_pct"] is not None else ""
            rows.append([label, r["shift_ms"], r["mae_pct"], r["bias_pct"], mae_1s])
    print(table(rows))
    print(f"best per refresh: {a['best']['alignment']} (shift {a['best']['shift_ms']} ms): "
          f"MAE {a['best']['mae_pct']:.2f}% (per refresh the field's own interval is offset from the counter's: "
          "the 1 s column and the fit below decide)")
    f = a.get("schedule_fit", {})
    if "point" in f:
        print(f"fit to the burst schedule ({f['n']} field values, field period {f['field_period_ms']:.1f} ms): "
              f"point sample best at lag {f['point']['lag_ms']} ms RMSE {f['point']['rmse_w']:.1f} W; "
              f"interval mean best at lag {f['mean']['lag_ms']} ms RMSE {f['mean']['rmse_w']:.1f} W "
              f"(idle {f['mean']['idle_w']:.0f} W, busy {f['mean']['busy_w']:.0f} W) -> {f['better']}", flush=True)
    else:
        print(f"fit to the burst schedule: {f.get('error')}", flush=True)


def _print(doc: dict[str, Any]) -> None:
    e = doc["environment"]
    print(f"# gpu_meter_check: {e['gpu']} driver {e['driver']} {e['date_utc']} simulated={e['simulated']}")
    costs = [[k, v["wall_us"], v["cpu_us"]] for k, v in doc["read_costs"].items()]
    print(table([["reading", "wall us", "cpu us"]] + costs))
    if "lag" in doc:
        print("ticks idle", doc["ticks_idle"], "\nticks bursty", doc["ticks_bursty"])
        lag = doc["lag"]
        print(f"lag: best {lag['best_lag_ms']} ms (agreement {lag['agreement_at_best']:.3f}; at 0 ms "
              f"{lag['agreement_at_0']:.3f}); low {lag['low_w']:.0f} W high {lag['high_w']:.0f} W")
    if "loads" in doc:
        print("## refresh-aligned spans: % vs truth (the raw counter difference between two refreshes)")
        cols = ["load", "span_s", "truth_j", "counter_vs_truth_pct", "sampled_vs_truth_pct",
                "sampled_vs_counter_pct", "avg_field_vs_truth_pct",
                "smi_power_draw_vs_truth_pct", "smi_power_draw_instant_vs_truth_pct", "counter_window_vs_truth_pct",
                "sampled_window_vs_truth_pct"]
        cells = [[r.get(c, "") if r.get(c) is not None else "" for c in cols] for r in doc["loads"]["rows"]]
        print(table([cols] + cells))
        sh = doc["loads"]
        print(f"sampler CPU share (whole life): counter meter {sh['counter_meter_cpu_share']:.4f}, sampled meter "
              f"{sh['sampled_meter_cpu_share']:.4f} (fraction of one core)")
    own = doc["own_cost"]
    print(f"begin+end median {own['begin_end_median_us']:.1f} us, p90 {own['begin_end_p90_us']:.1f} us")
    print(f"total {doc['total_s']:.0f} s")


if __name__ == "__main__":
    main()
