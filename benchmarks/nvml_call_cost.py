"""What each NVML energy/power query costs and how often its value refreshes, on the GPUs of this machine.

The meter budgets counter reads because ``nvmlDeviceGetTotalEnergyConsumption`` cost ~4.6 ms of CPU per call on
an H100 (docs/benchmarks/gpu_meter_check.md). This probe asks whether the same counter read through
``nvmlDeviceGetFieldValues`` (``NVML_FI_DEV_TOTAL_ENERGY_CONSUMPTION``) is cheaper, and what the field values'
own timestamps say about when each value was refreshed.

    python3 benchmarks/nvml_call_cost.py [--gpu 0] [--calls 40] [--seconds 2] [--json out.json]

For each query: wall and thread-CPU time per call (median, p90), and over ``--seconds`` of polling the median
interval between value changes (the refresh period). For field queries also the median age of a value
(``now - timestamp``) where the driver fills the timestamp.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

FI_TOTAL_ENERGY = 83  # NVML_FI_DEV_TOTAL_ENERGY_CONSUMPTION (nvml.h), mJ
FI_POWER_AVERAGE = 185  # NVML_FI_DEV_POWER_AVERAGE, mW
FI_POWER_INSTANT = 186  # NVML_FI_DEV_POWER_INSTANT, mW
FI_ENERGY = 191  # NVML_FI_DEV_ENERGY (nvml.h: total energy in mJ since driver load; scope 0 GPU, 1 module)


def _field(nvml, handle, fid, scope=None):
    def read():
        fv = nvml.nvmlDeviceGetFieldValues(handle, [fid if scope is None else (fid, scope)])[0]
        if fv.nvmlReturn != 0:
            raise RuntimeError(f"field {fid}: return {fv.nvmlReturn}")
        v = fv.value
        val = getattr(v, "ullVal", 0) or getattr(v, "uiVal", 0) or getattr(v, "ulVal", 0)
        return val, fv.timestamp
    return read


def _cost(read, calls: int) -> dict:
    walls, cpus = [], []
    for _ in range(calls):
        w0, c0 = time.perf_counter(), time.thread_time()
        read()
        cpus.append(time.thread_time() - c0)
        walls.append(time.perf_counter() - w0)
    q = lambda xs, p: sorted(xs)[min(len(xs) - 1, int(p * len(xs)))]  # noqa: E731
    return {"wall_us_median": statistics.median(walls) * 1e6, "wall_us_p90": q(walls, 0.9) * 1e6,
            "cpu_us_median": statistics.median(cpus) * 1e6, "cpu_us_p90": q(cpus, 0.9) * 1e6}


def _refresh(read, seconds: float, pause: float) -> dict:
    changes, ages, last = [], [], None
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        now = time.perf_counter()
        val, ts = read()
        if ts:
            ages.append(time.time() * 1e6 - ts)
        if last is not None and val != last:
            changes.append(now)
        last = val
        if pause:
            time.sleep(pause)
    gaps = [b - a for a, b in zip(changes, changes[1:])]
    out = {"changes": len(changes), "refresh_ms_median": statistics.median(gaps) * 1e3 if gaps else None}
    if ages:
        out["value_age_ms_median"] = statistics.median(ages) / 1e3
    return out


def _under_load(nvml, h, queries: dict, seconds: float) -> dict:
    """Poll every energy query (and the power field) as fast as they answer while a bursty load runs (50 ms
    of bf16 8192^2 matmuls, 50-250 ms idle, from another thread), then compare each query's increments
    with the direct counter's over the same span and where in time each one's value changes."""
    import random
    import threading

    import torch

    x = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    stop = threading.Event()

    def load() -> None:
        rnd = random.Random(1)
        while not stop.is_set():
            t = time.perf_counter() + 0.05
            while time.perf_counter() < t:
                x @ x
            torch.cuda.synchronize()
            time.sleep(rnd.uniform(0.05, 0.25))

    energy = [k for k in queries if "ENERGY" in k or "TotalEnergy" in k]
    th = threading.Thread(target=load, daemon=True)
    th.start()
    series: dict[str, list] = {k: [] for k in energy}
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for k in energy:
            try:
                series[k].append((time.perf_counter(), queries[k]()[0]))
            except Exception:  # noqa: BLE001 - unsupported queries were reported above
                pass
    stop.set()
    th.join()
    out: dict = {}
    base = series.get("nvmlDeviceGetTotalEnergyConsumption") or []
    for k, pts in series.items():
        if len(pts) < 2:
            continue
        changes = [t for (t, v), (_, v0) in zip(pts[1:], pts) if v != v0]
        out[k] = {"reads": len(pts), "increment_mj": pts[-1][1] - pts[0][1], "changes": len(changes),
                  "span_s": pts[-1][0] - pts[0][0],
                  "first_changes_s": [round(t - pts[0][0], 4) for t in changes[:8]]}
        if base and k != "nvmlDeviceGetTotalEnergyConsumption":
            out[k]["minus_direct_mj_now"] = pts[-1][1] - base[-1][1]
        print(f"under load {k:42s} reads {len(pts):5d} changes {len(changes):3d} "
              f"increment {pts[-1][1] - pts[0][1]} mJ over {pts[-1][0] - pts[0][0]:.3f} s", flush=True)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gpu", type=int, default=0)
    p.add_argument("--calls", type=int, default=40)
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--json")
    p.add_argument("--load-seconds", type=float, default=0.0,
                   help="also poll the energy queries this long under a bursty bf16 matmul load (needs torch)")
    a = p.parse_args()
    import pynvml as nvml

    nvml.nvmlInit()
    h = nvml.nvmlDeviceGetHandleByIndex(a.gpu)
    name = nvml.nvmlDeviceGetName(h)
    queries = {
        "nvmlDeviceGetTotalEnergyConsumption": lambda: (nvml.nvmlDeviceGetTotalEnergyConsumption(h), 0),
        "FieldValues(TOTAL_ENERGY_CONSUMPTION=83)": _field(nvml, h, FI_TOTAL_ENERGY),
        "FieldValues(ENERGY=191, scope GPU)": _field(nvml, h, FI_ENERGY, 0),
        "FieldValues(ENERGY=191, scope module)": _field(nvml, h, FI_ENERGY, 1),
        "FieldValues(POWER_INSTANT=186)": _field(nvml, h, FI_POWER_INSTANT),
        "FieldValues(POWER_AVERAGE=185)": _field(nvml, h, FI_POWER_AVERAGE),
        "nvmlDeviceGetPowerUsage": lambda: (nvml.nvmlDeviceGetPowerUsage(h), 0),
    }
    res = {"gpu": name, "driver": nvml.nvmlSystemGetDriverVersion(), "queries": {}}
    for label, read in queries.items():
        try:
            read()
        except Exception as e:  # noqa: BLE001 - a query this card does not support is reported, not fatal
            res["queries"][label] = {"error": str(e)}
            print(f"{label:44s} unsupported: {e}", flush=True)
            continue
        r = _cost(read, a.calls)
        pause = 0.0 if r["wall_us_median"] > 500 else 0.001
        r.update(_refresh(read, a.seconds, pause))
        res["queries"][label] = r
        print(f"{label:44s} wall {r['wall_us_median']:8.1f} us (p90 {r['wall_us_p90']:8.1f})  "
              f"cpu {r['cpu_us_median']:8.1f} us  refresh {r['refresh_ms_median']} ms  "
              f"age {r.get('value_age_ms_median')} ms", flush=True)
    # does the field read of the counter agree with the direct call?
    try:
        direct = nvml.nvmlDeviceGetTotalEnergyConsumption(h)
        via_field = queries["FieldValues(TOTAL_ENERGY_CONSUMPTION=83)"]()[0]
        res["counter_direct_minus_field_mj"] = direct - via_field
        print(f"counter direct - via field: {direct - via_field} mJ", flush=True)
    except Exception as e:  # noqa: BLE001
        res["counter_direct_minus_field_mj"] = str(e)
    if a.load_seconds > 0:
        res["under_load"] = _under_load(nvml, h, queries, a.load_seconds)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
