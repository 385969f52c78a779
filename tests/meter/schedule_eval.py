"""Not a test: short-window accuracy and counter reads of the default meter on the sampler thread's own schedule
(simulated card, ManualClock), for comparing schedules and budgets. Numbers quoted in backends/nvml/config.py and
docs/benchmarks/meter_overhead.md come from here.

    PYTHONPATH=src python tests/meter/schedule_eval.py [--slot 0.05] [--field-offset 0.03] [--open-rate-x 3] [--old]

Back-to-back windows of 0.123, 0.34, 1.07 and 2.5 s over an irregular load (pieces of 30-250 ms, busy or idle at
random, seeded), each ended and settled 0.3 s later; median and max |error| against the simulated power's
integral, how often the stated uncertainty covers it, and counter reads per second. ``--old``: the schedule
before the phase-locked one (the sampler's fixed 50 ms period, no wake-ups from edges).
"""

from __future__ import annotations

import argparse
import random
import statistics

from wattprint.core.clock import ManualClock
from wattprint.meter.backends import nvml as nv
from wattprint.meter.backends.nvml import NvmlBackend
from wattprint.meter.meter import Meter
from wattprint.meter.sim.drive import drive_scheduled
from wattprint.meter.sim.nvml import SimGpu, SimNvml
from wattprint.meter.sim.traces import LiveSteps

IDLE_W, BUSY_W = 120.0, 700.0




def run(length: float, field_offset: float, config: nv.NvmlConfig, n: int = 16) -> str:
    clock = ManualClock(start=1000.0)
    load = LiveSteps(IDLE_W)
    sim = SimNvml([SimGpu(load, field_offset_s=field_offset, field_lag_s=0.02)], clock)
    meter = Meter(backends=[NvmlBackend(sim, gpus=[0], clock=clock, env={}, config=config)], clock=clock,
                  sampler_thread=False)
    drive_scheduled(meter, clock, 3.0)
    rng = random.Random(1)
    c0, t_start = sim.counter_calls, clock.monotonic()
    errs, cov = [], 0
    for k in range(n):
        drive_scheduled(meter, clock, 0.03 * (k % 4) + 0.05)
        t0 = clock.monotonic()
        meter.begin("w")
        t = 0.0
        while t < length:
            d = min(rng.uniform(0.03, 0.25), length - t)
            load.set(clock.monotonic(), BUSY_W if rng.random() < 0.5 else IDLE_W)
            drive_scheduled(meter, clock, d)
            t += d
        closed = meter.close_window("w")
        drive_scheduled(meter, clock, 0.3)
        (c,) = meter.measurement(closed).components
        true = load.energy(t0, closed.t1)
        errs.append(abs(c.energy_j - true) / true)
        cov += abs(c.energy_j - true) <= c.uncertainty_j
    rate = (sim.counter_calls - c0) / (clock.monotonic() - t_start)
    meter.close()
    return (f"{length:5.3f} s: median |err| {100 * statistics.median(errs):6.2f}%  max {100 * max(errs):6.1f}%  "
            f"covered {cov}/{n}  counter reads/s {rate:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--slot", type=float, default=nv.POLL_AFTER_REFRESH_S)
    ap.add_argument("--field-offset", type=float, default=0.03)
    ap.add_argument("--open-rate-x", type=float, default=nv.OPEN_RATE_X)
    ap.add_argument("--old", action="store_true")
    a = ap.parse_args()
    config = nv.NvmlConfig(poll_after_refresh_s=a.slot, open_rate_x=a.open_rate_x)
    if a.old:
        old_poll = nv.NvmlBackend.poll

        def fixed_period_poll(self: nv.NvmlBackend, now: float) -> None:
            old_poll(self, now)  # the delay it returns is dropped: the sampler's fixed period (edge_poll_s)

        nv.NvmlBackend.poll = fixed_period_poll  # type: ignore[method-assign]
        nv.NvmlBackend.set_waker = lambda self, wake: None  # type: ignore[method-assign]
    print(f"slot {a.slot} s, field {a.field_offset} s after the counter, OPEN_RATE_X {a.open_rate_x}, old={a.old}")
    for length in (0.123, 0.34, 1.07, 2.5):
        print(run(length, a.field_offset, config))


if __name__ == "__main__":
    main()
