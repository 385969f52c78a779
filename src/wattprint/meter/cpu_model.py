"""The CPU power model used where no RAPL counter exists: which processor, and its watts per busy CPU.

A processor found in ``data/cpu_power.csv`` gives ``max W per logical CPU = TDP / threads``; otherwise the
per-vCPU coefficients of ``data/vcpu_power.csv`` (Cloud Carbon Footprint, SPECpower-based) are used. The
idle fraction (min/max) comes from the same coefficients. See data/README.md for every source.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

UNCERTAINTY = 0.5  # stated relative error of any TDP/coefficient estimate (an allowance, not a bound)


@dataclass(frozen=True)
class CpuModel:
    cpu_name: str
    logical_cpus: int
    max_w_per_cpu: float  # W drawn per fully busy logical CPU
    min_w_per_cpu: float  # W per logical CPU at idle
    basis: str  # "tdp" or "vcpu-coefficients"
    source: str
    vm: bool

    def describe(self) -> str:
        return (f"cpu={self.cpu_name!r}, basis={self.basis}, max={self.max_w_per_cpu:.3g} W/cpu, "
                f"idle={self.min_w_per_cpu:.3g} W/cpu, logical_cpus={self.logical_cpus}, vm={self.vm}, "
                f"source={self.source}")


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("wattprint.meter").joinpath("data", name).read_text()
    return list(csv.DictReader(text.splitlines()))


def read_cpuinfo(path: str | Path = "/proc/cpuinfo") -> tuple[str, bool]:
    """(model name, runs under a hypervisor) from /proc/cpuinfo; ("unknown", False) elsewhere."""
    try:
        text = Path(path).read_text()
    except OSError:
        import platform

        return platform.processor() or "unknown", False
    name = next((ln.split(":", 1)[1].strip() for ln in text.splitlines() if ln.startswith("model name")),
                "unknown")
    vm = any(ln.startswith("flags") and " hypervisor" in ln for ln in text.splitlines())
    return name, vm


def cpu_model(cpuinfo: str | Path = "/proc/cpuinfo", logical_cpus: int | None = None,
              provider: str = "aws") -> CpuModel:
    name, vm = read_cpuinfo(cpuinfo)
    n = logical_cpus or os.cpu_count() or 1
    vc = next(r for r in _rows("vcpu_power.csv") if r["provider"] == provider)
    idle_frac = float(vc["min_w_per_vcpu"]) / float(vc["max_w_per_vcpu"])
    for r in _rows("cpu_power.csv"):
        if r["match"].lower() in name.lower():
            mx = float(r["tdp_w"]) / int(r["threads"])
            return CpuModel(name, n, mx, mx * idle_frac, "tdp", r["source"], vm)
    return CpuModel(name, n, float(vc["max_w_per_vcpu"]), float(vc["min_w_per_vcpu"]),
                    f"vcpu-coefficients:{provider}", vc["source"], vm)
