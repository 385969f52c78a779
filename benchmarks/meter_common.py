"""Shared by the meter benchmarks: a GPU load (torch on a real GPU, or a simulated one here), NVML access,
and the environment a result must name. Runs on the H100 and, simulated, on a CPU-only machine."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from wattprint.core.clock import SystemClock  # noqa: E402
from wattprint.meter.sim.nvml import SimGpu, SimNvml  # noqa: E402
from wattprint.meter.sim.traces import LiveSteps  # noqa: E402

# Simulated H100 (GPU.md): ~128 W idle, ~696 W under a bf16 8192^2 matmul loop.
SIM_IDLE_W, SIM_BUSY_W = 128.0, 696.0


class RecordingTrace(LiveSteps):
    """A trace written as the simulated load runs (``set(t, watts)`` appends a step), with queued work."""

    def busy(self, now: float, until: float, busy_w: float, idle_w: float) -> None:
        """Queued work: busy from ``now`` (or from where the queue already runs) to ``until``, then idle. The
        idle step is written ahead of time and moved later when more work is queued (one list assignment, so
        the sampler thread reading the trace never sees a half-written step; values are appended before times)."""
        if len(self.ts) >= 2 and self.ts[-1] > now and self.ws[-1] == idle_w and self.ws[-2] == busy_w:
            self.ts[-1] = max(self.ts[-1], until)
            return
        self.ws.append(busy_w)
        self.ts.append(now)
        self.ws.append(idle_w)
        self.ts.append(until)


class Gpu:
    """The GPU under test: ``op(seconds)`` runs matmuls for about that long (synchronised), ``sleep``."""

    def __init__(self, sim: bool) -> None:
        self.sim = sim
        if sim:
            self.clock = SystemClock()
            self.trace = RecordingTrace(SIM_IDLE_W)
            self.nvml: Any = SimNvml([SimGpu(self.trace)], self.clock)
            self.mm_s = 0.0014
        else:
            import pynvml
            import torch

            self.torch = torch
            self.nvml = pynvml
            pynvml.nvmlInit()
            self.a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
            self.b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
            self.mm_s = self._calibrate()
        self.handle = self.nvml.nvmlDeviceGetHandleByIndex(0)

    def _calibrate(self) -> float:
        for _ in range(20):
            self.a @ self.b
        self.torch.cuda.synchronize()
        t = time.perf_counter()
        for _ in range(200):
            self.a @ self.b
        self.torch.cuda.synchronize()
        return (time.perf_counter() - t) / 200

    def launch(self, seconds: float) -> int:
        """Queue about ``seconds`` of matmuls without waiting (returns how many)."""
        n = max(1, round(seconds / self.mm_s))
        if self.sim:
            self.trace.set(time.perf_counter(), SIM_BUSY_W)
            self._sim_until = time.perf_counter() + n * self.mm_s
        else:
            for _ in range(n):
                self.a @ self.b
        return n

    def sync(self) -> None:
        if self.sim:
            left = getattr(self, "_sim_until", 0.0) - time.perf_counter()
            if left > 0:
                time.sleep(left)
            self.trace.set(time.perf_counter(), SIM_IDLE_W)
        else:
            self.torch.cuda.synchronize()

    def op(self, seconds: float) -> float:
        t = time.perf_counter()
        self.launch(seconds)
        self.sync()
        return time.perf_counter() - t

    # ---- queued work (the GPU kept busy while the caller does something else) ----------------------
    def queue(self, seconds: float) -> Any:
        """Queue about ``seconds`` of matmuls after what is already queued; return a handle for :meth:`done` and
        :meth:`wait` (a CUDA event; in the simulation, the time the queue runs dry)."""
        n = max(1, round(seconds / self.mm_s))
        if self.sim:
            now = time.perf_counter()
            start = max(now, getattr(self, "_sim_until", 0.0))
            self._sim_until = start + n * self.mm_s
            self.trace.busy(now, self._sim_until, SIM_BUSY_W, SIM_IDLE_W)
            return self._sim_until
        for _ in range(n):
            self.a @ self.b
        ev = self.torch.cuda.Event()
        ev.record()
        return ev

    def done(self, handle: Any) -> bool:
        return time.perf_counter() >= handle if self.sim else handle.query()

    def wait(self, handle: Any) -> None:
        if self.sim:
            left = handle - time.perf_counter()
            if left > 0:
                time.sleep(left)
        else:
            handle.synchronize()

    def run(self, seconds: float) -> float:
        """About ``seconds`` of matmuls, waited for (queue-based twin of :meth:`op`); returns the wall time."""
        t = time.perf_counter()
        self.wait(self.queue(seconds))
        return time.perf_counter() - t

    def counter_j(self) -> float:
        return self.nvml.nvmlDeviceGetTotalEnergyConsumption(self.handle) / 1000.0

    def instant_w(self) -> float:
        fv = self.nvml.nvmlDeviceGetFieldValues(self.handle, [186])[0]
        return (fv.value.uiVal if fv.valueType == 1 else fv.value.ullVal if fv.valueType == 3
                else fv.value.dVal) / 1000.0

    def meter_backend(self, **cfg: Any) -> Any:
        from wattprint.meter.backends.nvml import NvmlBackend, NvmlConfig

        return NvmlBackend(self.nvml, gpus=[0], config=NvmlConfig(**cfg), env={})


def environment(gpu: Gpu) -> dict[str, Any]:
    n = gpu.nvml
    name = n.nvmlDeviceGetName(gpu.handle)
    drv = n.nvmlSystemGetDriverVersion()
    env = {"gpu": name.decode() if isinstance(name, bytes) else name,
           "driver": drv.decode() if isinstance(drv, bytes) else drv, "simulated": gpu.sim,
           "python": platform.python_version(), "cpu": _cpu_name(), "cpus": os.cpu_count(),
           "date_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "matmul_s": gpu.mm_s}
    if not gpu.sim:
        env["torch"] = gpu.torch.__version__
    return env


def _cpu_name() -> str:
    try:
        return next(ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor()


def out_dir() -> Path:
    d = Path(os.environ.get("OUT") or ROOT / ".devout")
    d.mkdir(parents=True, exist_ok=True)
    return d


def save(name: str, doc: dict[str, Any]) -> Path:
    p = out_dir() / name
    p.write_text(json.dumps(doc, indent=1, default=str))
    return p


def table(rows: list[list[Any]]) -> str:
    rows = [[f"{c:.4g}" if isinstance(c, float) else str(c) for c in r] for r in rows]
    w = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.rjust(x) for c, x in zip(r, w)) for r in rows)


def has_gpu() -> bool:
    try:
        return subprocess.run(["nvidia-smi", "-L"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def environment_light() -> dict[str, Any]:
    """Machine facts without touching a GPU library beyond nvidia-smi."""
    gpu = None
    try:
        p = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                           capture_output=True, text=True, timeout=10)
        gpu = p.stdout.strip() if p.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired):
        gpu = None
    return {"cpu": _cpu_name(), "cpus": os.cpu_count(), "gpu": gpu, "python": platform.python_version(),
            "date_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
