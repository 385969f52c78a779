"""Which backends a default Meter uses on this machine, and every source's state for ``wattprint doctor``.

The sources are the registry in :mod:`wattprint.meter.sources` (read at each call). A source the user asked
for explicitly that cannot be read is an error (with its fix); a default that cannot be read is a visible
fallback, written into every Measurement's warnings.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from wattprint.core.clock import Clock
from wattprint.core.errors import BackendUnavailable, ConfigError, PermissionDeniedError
from wattprint.meter import sources
from wattprint.meter.backends.base import Backend, Probe
from wattprint.meter.proctree import ProcessTree
from wattprint.meter.sources import BuildContext


@dataclass
class Discovered:
    backends: list[Backend] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def build(gpus: Any, cpu: Any, ram: Any, cpu_scope: str, clock: Clock,
          env: Mapping[str, str] | None = None, powercap_root: str = "/sys/class/powercap",
          counter_reads_per_s: float | None = None) -> Discovered:
    out = Discovered()
    ctx = BuildContext(clock=clock, gpus=gpus, env=env, counter_reads_per_s=counter_reads_per_s,
                       powercap_root=powercap_root, scope=cpu_scope, tree=ProcessTree())
    if gpus is not None:
        _add_gpus(out, ctx, explicit=gpus != "visible")
    has_dram = _add_cpu(out, cpu, ctx)
    if ram and not has_dram:
        out.backends.append(sources.SOURCES["ram-estimate"].build(replace(ctx, scope="machine" if ram == "machine"
                                                                  else cpu_scope)))
    return out


def _add_gpus(out: Discovered, ctx: BuildContext, explicit: bool) -> None:
    for source in sources.of_kind("gpu"):
        try:
            b = source.build(ctx)
        except (BackendUnavailable, ImportError):
            if explicit and source.name == "nvml":
                raise
            continue
        if b.describe():
            out.backends.append(b)
        else:
            b.close()


def _add_cpu(out: Discovered, cpu: Any, ctx: BuildContext) -> bool:
    """Adds the CPU's backend: RAPL where it can be read, else the estimate. True if RAPL has a DRAM zone."""
    if not cpu:
        return False
    reason = ""
    if cpu in (True, "rapl"):
        try:
            rapl = sources.SOURCES["rapl"].build(ctx)
            out.backends.append(rapl)
            return any(line.startswith("dram:") for line in rapl.describe())
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
    out.backends.append(sources.SOURCES["cpu-estimate"].build(replace(ctx, fallback_reason=reason)))
    return False


def probes(env: Mapping[str, str] | None = None, powercap_root: str = "/sys/class/powercap") -> list[Probe]:
    """Every energy source, available or not, with why and how to fix (for ``wattprint doctor``)."""
    e = os.environ if env is None else env
    return [s.probe(e, powercap_root) for s in sources.SOURCES.values()]
