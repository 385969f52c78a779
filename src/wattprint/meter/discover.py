"""Which backends a default Meter uses on this machine, and every source's state for ``wattprint doctor``.

Registries, not branches: GPU sources and CPU sources are tables of name -> factory. A source the user
asked for explicitly that cannot be read is an error (with its fix); a default that cannot be read is a
visible fallback, written into every Measurement's warnings.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from wattprint.core.clock import Clock
from wattprint.core.errors import BackendUnavailable, ConfigError, PermissionDeniedError
from wattprint.meter.backends.base import Backend, Probe
from wattprint.meter.proctree import ProcessTree


@dataclass
class Discovered:
    backends: list[Backend] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _nvml(gpus: Any, clock: Clock, env: Mapping[str, str] | None, counter_reads_per_s: float | None = None) -> Backend:
    from wattprint.meter.backends.nvml import NvmlBackend, NvmlConfig

    try:
        import pynvml
    except ImportError as e:
        raise BackendUnavailable("nvidia-ml-py is not installed", fix="pip install nvidia-ml-py") from e
    config = NvmlConfig() if counter_reads_per_s is None else NvmlConfig(counter_reads_per_s=counter_reads_per_s)
    return NvmlBackend(pynvml, gpus=gpus, config=config, clock=clock, env=env)


def _amd(gpus: Any, clock: Clock, env: Mapping[str, str] | None, counter_reads_per_s: float | None = None) -> Backend:
    from wattprint.meter.backends.amd import AmdBackend

    try:
        import amdsmi
    except ImportError as e:
        raise BackendUnavailable("amdsmi is not installed", fix="pip install 'wattprint[amd]' (needs ROCm)") from e
    except (KeyError, OSError) as e:  # the package is there but ROCm's libamd_smi.so is not (seen on H100s)
        raise BackendUnavailable(f"amdsmi cannot load its library: {e!r}", fix="install ROCm, or ignore on "
                                 "machines without AMD GPUs") from e
    return AmdBackend(amdsmi, gpus=gpus, clock=clock)


# factory(gpus, clock, env, counter_reads_per_s): the last is the NVML counter's read budget (None: default;
# the AMD backend has no read budget and ignores it)
GPU_SOURCES: dict[str, Callable[..., Backend]] = {"nvml": _nvml, "amdsmi": _amd}


def build(gpus: Any, cpu: Any, ram: Any, cpu_scope: str, clock: Clock,
          env: Mapping[str, str] | None = None, powercap_root: str = "/sys/class/powercap",
          counter_reads_per_s: float | None = None) -> Discovered:
    out = Discovered()
    tree = ProcessTree()
    explicit_gpus = gpus not in ("visible", None)
    for name, factory in GPU_SOURCES.items():
        if gpus is None:
            break
        try:
            b = factory(gpus, clock, env, counter_reads_per_s)
        except (BackendUnavailable, ImportError) as e:
            if explicit_gpus and name == "nvml":
                raise
            continue
        if getattr(b, "gpus", None):
            out.backends.append(b)
        else:
            b.close()
    has_dram = _add_cpu(out, cpu, cpu_scope, tree, powercap_root)
    if ram and not has_dram:
        from wattprint.meter.backends.ram import RamBackend

        out.backends.append(RamBackend(scope="machine" if ram == "machine" else cpu_scope, tree=tree))
    return out


def _add_cpu(out: Discovered, cpu: Any, scope: str, tree: ProcessTree, root: str) -> bool:
    if not cpu:
        return False
    from wattprint.meter.backends.cpu_estimate import CpuEstimateBackend
    from wattprint.meter.backends.rapl import RaplBackend

    reason = ""
    if cpu in (True, "rapl"):
        try:
            rapl = RaplBackend(root)
            out.backends.append(rapl)
            return any(z.kind.value == "dram" for z in rapl.zones)
        except PermissionDeniedError as e:
            if cpu == "rapl":
                raise
            reason = f"{e.message} (fix: {e.fix})"
            out.warnings.append(f"CPU estimated, RAPL unreadable: {reason}")
        except BackendUnavailable as e:
            if cpu == "rapl":
                raise
            reason = e.message
    elif cpu != "estimate":
        raise ConfigError(f"cpu={cpu!r}: use True, False, 'rapl' or 'estimate'")
    out.backends.append(CpuEstimateBackend(scope=scope, tree=tree, reason=reason))
    return False


def probes(env: Mapping[str, str] | None = None, powercap_root: str = "/sys/class/powercap") -> list[Probe]:
    """Every energy source, available or not, with why and how to fix (for ``wattprint doctor``)."""
    from wattprint.meter import doctor_probes

    return doctor_probes.all_probes(os.environ if env is None else env, powercap_root)
