"""What a window hook costs: the time of one window (begin + end) on a CPU meter with no hook, with one no-op
hook, and with a TensorBoard logger attached (scalars, text and a flush to a local event file per window).

Runs anywhere (CPU and RAM estimates; no GPU is needed: the hook's cost does not depend on the backends).

    python benchmarks/hooks_overhead.py            # about 10 s on 2 cores
    python benchmarks/hooks_overhead.py --windows 5000
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time

from wattprint.meter import hooks
from wattprint.meter.meter import Meter


def per_window_us(meter: Meter, windows: int) -> list[float]:
    out = []
    for _ in range(windows):
        t0 = time.perf_counter()
        meter.begin("w")
        meter.end("w")
        out.append((time.perf_counter() - t0) * 1e6)
    return out


def report(label: str, times: list[float]) -> None:
    q = statistics.quantiles(times, n=20)
    print(f"{label:<28} median {statistics.median(times):8.1f} us   p95 {q[18]:8.1f} us   n={len(times)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--windows", type=int, default=2000)
    args = ap.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}")
    with Meter(gpus=None) as meter:
        per_window_us(meter, 200)  # warm-up
        report("no hook", per_window_us(meter, args.windows))
        with hooks.hooked(lambda m: None):
            report("one no-op hook", per_window_us(meter, args.windows))
        try:
            from wattprint.integrations.tensorboard import TensorBoardLogger
        except ImportError:
            print("TensorBoard logger: skipped (pip install 'wattprint[tensorboard]')")
            return
        with tempfile.TemporaryDirectory() as tmp, TensorBoardLogger(tmp):
            report("TensorBoard logger", per_window_us(meter, max(1, args.windows // 10)))


if __name__ == "__main__":
    main()
