"""Every energy source wattprint knows, one entry each: how to build its backend and how ``wattprint doctor``
probes it. A new source (Apple silicon, Intel GPUs, Jetson) is a backend module plus one entry here; see
``docs/adding-a-backend.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from wattprint.core.clock import Clock
from wattprint.core.errors import BackendUnavailable
from wattprint.meter import doctor_probes
from wattprint.meter.backends.base import Backend, Probe
from wattprint.meter.proctree import ProcessTree


@dataclass(frozen=True)
class BuildContext:
    """What a factory may need. ``gpus``: "visible", None or a list of indices/UUIDs; ``scope``: "process"
    or "machine" (CPU and RAM); ``counter_reads_per_s``: a GPU counter's read budget (None: its default);
    ``fallback_reason``: why an estimate stands in for a counter (recorded in its results)."""

    clock: Clock
    gpus: Any = "visible"
    env: Mapping[str, str] | None = None
    counter_reads_per_s: float | None = None
    powercap_root: str = "/sys/class/powercap"
    scope: str = "process"
    tree: ProcessTree | None = None
    fallback_reason: str = ""


@dataclass(frozen=True)
class Source:
    """``kind``: "gpu", "cpu" or "ram". ``build`` raises BackendUnavailable (with its fix) when the source
    cannot be read here; ``probe(env, powercap_root)`` never raises."""

    name: str
    kind: str
    build: Callable[[BuildContext], Backend]
    probe: Callable[[Mapping[str, str], str], Probe]


def _nvml(ctx: BuildContext) -> Backend:
    from wattprint.meter.backends.nvml import NvmlBackend, NvmlConfig

    try:
        import pynvml
    except ImportError as e:
        raise BackendUnavailable("nvidia-ml-py is not installed", fix="pip install nvidia-ml-py") from e
    budget = ctx.counter_reads_per_s
    config = NvmlConfig() if budget is None else NvmlConfig(counter_reads_per_s=budget)
    return NvmlBackend(pynvml, gpus=ctx.gpus, config=config, clock=ctx.clock, env=ctx.env)


def _amd(ctx: BuildContext) -> Backend:
    from wattprint.meter.backends.amd import AmdBackend

    try:
        import amdsmi
    except ImportError as e:
        raise BackendUnavailable("amdsmi is not installed", fix="pip install 'wattprint[amd]' (needs ROCm)") from e
    except (KeyError, OSError) as e:  # the package is there but ROCm's libamd_smi.so is not (seen on H100s)
        raise BackendUnavailable(f"amdsmi cannot load its library: {e!r}", fix="install ROCm, or ignore on "
                                 "machines without AMD GPUs") from e
    return AmdBackend(amdsmi, gpus=ctx.gpus, clock=ctx.clock)


def _rapl(ctx: BuildContext) -> Backend:
    from wattprint.meter.backends.rapl import RaplBackend

    return RaplBackend(ctx.powercap_root)


def _cpu_estimate(ctx: BuildContext) -> Backend:
    from wattprint.meter.backends.cpu_estimate import CpuEstimateBackend

    return CpuEstimateBackend(scope=ctx.scope, tree=ctx.tree, reason=ctx.fallback_reason)


def _ram_estimate(ctx: BuildContext) -> Backend:
    from wattprint.meter.backends.ram import RamBackend

    return RamBackend(scope=ctx.scope, tree=ctx.tree)


SOURCES: Mapping[str, Source] = MappingProxyType({s.name: s for s in (
    Source("nvml", "gpu", _nvml, doctor_probes.probe_nvml),
    Source("amdsmi", "gpu", _amd, doctor_probes.probe_amd),
    Source("rapl", "cpu", _rapl, doctor_probes.probe_rapl),
    Source("cpu-estimate", "cpu", _cpu_estimate, doctor_probes.probe_cpu_estimate),
    Source("ram-estimate", "ram", _ram_estimate, doctor_probes.probe_ram),
)})


def of_kind(kind: str) -> list[Source]:
    return [s for s in SOURCES.values() if s.kind == kind]
