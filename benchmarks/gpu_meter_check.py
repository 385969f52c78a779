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
5. The meter's own cost: begin+end median on the counter path, and its sampler thread's CPU share.
Writes gpu_meter_check.json under $OUT (or .devout/) and prints tables.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import threading
import time
from typing import Any

from meter_common import Gpu, environment, has_gpu, save, table

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


def loads(gpu: Gpu, window_s: float, reps: int, long_s: float = 0.0) -> list[dict[str, Any]]:
    counter = Meter(backends=[gpu.meter_backend()])
    sampled = Meter(backends=[gpu.meter_backend(use_counter=False)])
    smi = None if gpu.sim else Smi()
    avg = None if gpu.sim else AvgField(gpu)
    time.sleep(1.0)
    rows = []
    for load in ("idle", "matmul", "bursty", "bursty-irregular", "idle-after"):
        for rep in range(reps if load.startswith("bursty") else 1):
            rows.append(_one_window(gpu, load, window_s, counter, sampled, smi, avg, seed=rep))
    if long_s:
        for load in ("bursty", "bursty-irregular"):
            rows.append(_one_window(gpu, load, long_s, counter, sampled, smi, avg, seed=100))
    out = {"rows": rows, "counter_meter_cpu_share": counter.sampler_cpu_share(),
           "sampled_meter_cpu_share": sampled.sampler_cpu_share()}
    counter.close()
    sampled.close()
    if smi:
        smi.close()
    if avg:
        avg.close()
    return out


def _run_load(gpu: Gpu, load: str, end: float, rng: random.Random) -> None:
    while time.perf_counter() < end:
        if load == "matmul":
            gpu.op(min(0.1, end - time.perf_counter()))
        elif load == "bursty":
            gpu.op(0.2)
            time.sleep(max(min(0.2, end - time.perf_counter()), 0))
        elif load == "bursty-irregular":
            gpu.op(min(rng.uniform(0.03, 0.25), max(end - time.perf_counter(), 0.001)))
            time.sleep(max(min(rng.uniform(0.03, 0.25), end - time.perf_counter()), 0))
        else:
            time.sleep(0.05)


def _one_window(gpu: Gpu, load: str, window_s: float, counter: Meter, sampled: Meter, smi: Smi | None,
                avg: AvgField | None = None, seed: int = 0) -> dict:
    rng = random.Random(seed)
    # the same load for a second before the window (a running service, not a cold start) ...
    _run_load(gpu, load, time.perf_counter() + (1.0 if load != "idle-after" else 0.0), rng)
    e0, a = gpu.counter_j(), time.perf_counter()
    counter.begin("w")
    sampled.begin("w")
    _run_load(gpu, load, a + window_s, rng)
    mc, ms = counter.end("w"), sampled.end("w")
    b, e1 = time.perf_counter(), gpu.counter_j()
    if avg:  # ... and half the average field's length after it, which its shifted integral reaches into
        _run_load(gpu, load, time.perf_counter() + avg.AVERAGE_S / 2 + 0.1, rng)
    c, s = mc.components[0], ms.components[0]
    row = {"load": load, "duration_s": mc.duration_s, "raw_counter_j": e1 - e0, "counter_j": c.energy_j,
           "counter_unc_j": c.uncertainty_j, "counter_method": c.method.value, "sampled_j": s.energy_j,
           "sampled_unc_j": s.uncertainty_j, "sampled_vs_counter_pct": 100 * (s.energy_j / c.energy_j - 1),
           "counter_vs_raw_pct": 100 * (c.energy_j / ((e1 - e0) * mc.duration_s / (b - a)) - 1)}
    if avg:
        v = avg.energy(a, b)
        row["avg_field_j"] = v
        row["avg_field_vs_counter_pct"] = None if v is None else 100 * (v * mc.duration_s / (b - a) / c.energy_j - 1)
    if smi:
        for col, key in ((1, "smi_power_draw_j"), (2, "smi_power_draw_instant_j")):
            v = smi.energy(a, b, col)
            row[key] = v
            row[key.replace("_j", "_vs_counter_pct")] = None if v is None else 100 * (v * mc.duration_s /
                                                                                       (b - a) / c.energy_j - 1)
    return row


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
    args = ap.parse_args()
    gpu = Gpu(sim=args.sim or not has_gpu())
    doc: dict[str, Any] = {"environment": environment(gpu), "read_costs": read_costs(gpu)}
    if not args.no_probes:
        doc["ticks_idle"] = tick_probe(gpu, 1.0, bursty=False)
        doc["ticks_bursty"] = tick_probe(gpu, 1.6, bursty=True)
        doc["lag"] = lag_probe(gpu, 3.2)
    doc["loads"] = loads(gpu, args.window, args.reps, args.long)
    doc["own_cost"] = own_cost(gpu)
    save("gpu_meter_check.json", doc)
    _print(doc)


def _print(doc: dict[str, Any]) -> None:
    e = doc["environment"]
    print(f"# gpu_meter_check: {e['gpu']} driver {e['driver']} {e['date_utc']} simulated={e['simulated']}")
    print(table([["reading", "wall us", "cpu us"]] + [[k, v["wall_us"], v["cpu_us"]] for k, v in doc["read_costs"].items()]))
    if "lag" in doc:
        print("ticks idle", doc["ticks_idle"], "\nticks bursty", doc["ticks_bursty"])
        lag = doc["lag"]
        print(f"lag: best {lag['best_lag_ms']} ms (agreement {lag['agreement_at_best']:.3f}; at 0 ms "
              f"{lag['agreement_at_0']:.3f}); low {lag['low_w']:.0f} W high {lag['high_w']:.0f} W")
    cols = ["load", "duration_s", "raw_counter_j", "counter_j", "counter_unc_j", "sampled_j", "sampled_vs_counter_pct",
            "counter_vs_raw_pct", "avg_field_vs_counter_pct", "smi_power_draw_vs_counter_pct",
            "smi_power_draw_instant_vs_counter_pct"]
    print(table([cols] + [[r.get(c, "") for c in cols] for r in doc["loads"]["rows"]]))
    print(f"sampler CPU share: counter meter {doc['loads']['counter_meter_cpu_share']:.4f}, sampled meter "
          f"{doc['loads']['sampled_meter_cpu_share']:.4f} (fraction of one core)")
    print(f"begin+end median {doc['own_cost']['begin_end_median_us']:.1f} us, p90 {doc['own_cost']['begin_end_p90_us']:.1f} us")


if __name__ == "__main__":
    main()
