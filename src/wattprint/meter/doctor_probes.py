"""One probe per energy source: can it be read here, what would it measure, why not, how to fix. Each is the
``probe`` of its entry in :mod:`wattprint.meter.sources`."""

from __future__ import annotations

from collections.abc import Mapping

from wattprint.core.errors import BackendUnavailable, PermissionDeniedError
from wattprint.meter.backends.base import Probe


def probe_nvml(env: Mapping[str, str], root: str) -> Probe:
    try:
        import pynvml
    except ImportError:
        return Probe("nvml", False, reason="nvidia-ml-py is not installed", fix="pip install nvidia-ml-py",
                     method="counter")
    from wattprint.meter.backends.nvml import NvmlBackend

    try:
        b = NvmlBackend(pynvml, gpus="visible", env=env)
    except BackendUnavailable as e:
        return Probe("nvml", False, reason=e.message, fix=e.fix or "", method="counter")
    try:
        lines = tuple(b.describe())
        driver = pynvml.nvmlSystemGetDriverVersion()
        total = pynvml.nvmlDeviceGetCount()
    finally:
        b.close()
    if not lines:
        return Probe("nvml", False, reason=f"NVML answers ({total} GPUs) but none is visible to this process "
                     f"(CUDA_VISIBLE_DEVICES={env.get('CUDA_VISIBLE_DEVICES')!r})",
                     fix="unset or change CUDA_VISIBLE_DEVICES, or pass --gpus", method="counter")
    methods = {("counter" if "(counter" in ln else "sampled") for ln in lines}
    return Probe("nvml", True, lines, reason=f"driver {_s(driver)}; {len(lines)} of {total} GPUs visible",
                 method="/".join(sorted(methods)), used=True, details={"warnings": b.select_warnings})


def probe_amd(env: Mapping[str, str], root: str) -> Probe:
    try:
        import amdsmi
    except ImportError:
        return Probe("amdsmi", False, reason="amdsmi is not installed (AMD GPUs only)",
                     fix="pip install 'wattprint[amd]' on a ROCm machine", method="counter")
    except (KeyError, OSError) as e:  # installed, but ROCm's libamd_smi.so is missing
        return Probe("amdsmi", False, reason=f"amdsmi cannot load its library ({e!r})",
                     fix="install ROCm on machines with AMD GPUs; otherwise nothing to do", method="counter")
    from wattprint.meter.backends.amd import AmdBackend

    try:
        b = AmdBackend(amdsmi)
    except BackendUnavailable as e:
        return Probe("amdsmi", False, reason=e.message, fix=e.fix or "", method="counter")
    lines = tuple(b.describe())
    b.close()
    return Probe("amdsmi", bool(lines), lines, reason="" if lines else "no AMD GPU found", method="counter",
                 used=bool(lines))


def probe_rapl(env: Mapping[str, str], root: str) -> Probe:
    from wattprint.meter.backends.rapl import RaplBackend

    try:
        b = RaplBackend(root)
    except PermissionDeniedError as e:
        return Probe("rapl", False, reason=e.message, fix=e.fix or "", method="counter")
    except BackendUnavailable as e:
        return Probe("rapl", False, reason=e.message, fix=e.fix or "", method="counter")
    return Probe("rapl", True, tuple(b.describe()), reason="; ".join(b.notes) or "package and dram zones",
                 method="counter", used=True)


def probe_cpu_estimate(env: Mapping[str, str], root: str) -> Probe:
    from wattprint.meter.cpu_model import UNCERTAINTY, cpu_model

    m = cpu_model()
    rapl_ok = probe_rapl(env, root).available
    return Probe("cpu-estimate", True, (f"cpu {m.cpu_name}",), method="estimated", used=not rapl_ok,
                 reason=f"{m.describe()}; uncertainty {UNCERTAINTY:.0%}",
                 fix="" if rapl_ok else "a RAPL counter (bare-metal Linux) replaces this estimate by a measurement")


def probe_ram(env: Mapping[str, str], root: str) -> Probe:
    from wattprint.meter.backends.ram import W_PER_GB, W_PER_GB_SOURCE

    return Probe("ram-estimate", True, ("ram",), method="estimated", used=True,
                 reason=f"{W_PER_GB} W/GB ({W_PER_GB_SOURCE}); process scope: resident memory of the tree")


def _s(v: object) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)

