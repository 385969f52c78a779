"""A snapshot of where a benchmark ran: hardware, drivers, library versions, git revision, Python.

Each part that cannot be read says why (``"nvml": "unavailable: ..."``) rather than being left out.
NVML is initialised and shut down inside :func:`gpus`; nothing stays open.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil

LIBRARIES = ("wattprint", "torch", "transformers", "diffusers", "accelerate", "numpy", "tokenizers",
             "safetensors", "pillow", "nvidia-ml-py", "psutil", "datasets", "pyarrow", "torchvision", "ray")


def _first_cpu(cpuinfo: Path) -> dict[str, str]:
    """The first processor's fields of /proc/cpuinfo (lower-case keys), or {} where there is none."""
    fields: dict[str, str] = {}
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if not line.strip():
                if fields:
                    break
                continue
            key, _, value = line.partition(":")
            fields.setdefault(key.strip().lower(), value.strip())
    return fields


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what ``platform`` says."""
    return _first_cpu(cpuinfo).get("model name") or platform.processor() or platform.machine()


def cpu_identity(cpuinfo: Path = Path("/proc/cpuinfo")) -> dict[str, Any]:
    """Family/model/stepping, microcode and clock of the first CPU: a VM's model name is often generic ("Intel(R)
    Xeon(R) Processor"), and two hosts behind one name can run the same batch-1 loop at different speeds."""
    f = _first_cpu(cpuinfo)
    out: dict[str, Any] = {}
    if all(k in f for k in ("cpu family", "model", "stepping")):
        out["cpu_id"] = f"{f['cpu family']}/{f['model']}/{f['stepping']}"
    if "microcode" in f:
        out["cpu_microcode"] = f["microcode"]
    try:
        out["cpu_mhz"] = round(float(f["cpu mhz"]), 1)
    except (KeyError, ValueError):
        pass
    return out


def hardware() -> dict[str, Any]:
    return {
        "cpu_model": cpu_model(),
        **cpu_identity(),
        "cpu_cores_physical": psutil.cpu_count(logical=False),
        "cpu_cores_logical": psutil.cpu_count(logical=True),
        "cpu_affinity": len(psutil.Process().cpu_affinity()) if hasattr(psutil.Process, "cpu_affinity") else None,
        "ram_bytes": psutil.virtual_memory().total,
    }


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def gpus(nvml: Any = None) -> dict[str, Any]:
    """NVIDIA GPUs as NVML sees them: name, UUID, memory, power limit, and the driver version.

    ``nvml`` is the pynvml module (injectable: ``wattprint.meter.sim`` ships a stand-in).
    """
    if nvml is None:
        try:
            import pynvml
        except ImportError as e:
            return {"gpus": [], "nvml": f"unavailable: {e}"}
        nvml = pynvml
    try:
        nvml.nvmlInit()
    except nvml.NVMLError as e:
        return {"gpus": [], "nvml": f"unavailable: {e}"}
    try:
        found = []
        for i in range(nvml.nvmlDeviceGetCount()):
            h = nvml.nvmlDeviceGetHandleByIndex(i)
            entry: dict[str, Any] = {"index": i, "name": _text(nvml.nvmlDeviceGetName(h)),
                                     "uuid": _text(nvml.nvmlDeviceGetUUID(h))}
            try:
                entry["memory_bytes"] = int(nvml.nvmlDeviceGetMemoryInfo(h).total)
                entry["power_limit_w"] = nvml.nvmlDeviceGetPowerManagementLimit(h) / 1000.0
            except nvml.NVMLError as e:
                entry["note"] = f"memory or power limit unreadable: {e}"
            found.append(entry)
        return {"gpus": found, "nvml": "ok", "driver": _text(nvml.nvmlSystemGetDriverVersion())}
    except nvml.NVMLError as e:
        return {"gpus": [], "nvml": f"error while listing: {e}"}
    finally:
        nvml.nvmlShutdown()


def libraries() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    torch = sys.modules.get("torch")  # only if already imported: a snapshot must not import torch
    if torch is not None:
        versions["torch.cuda"] = getattr(torch.version, "cuda", None)
    return versions


def git_revision(start: str | os.PathLike[str] | None = None) -> dict[str, Any] | None:
    """The git commit (and whether the tree has changes) of the checkout holding wattprint, if any.

    ``WATTPRINT_COMMIT`` names it instead, for a copy of the code whose ``.git`` is missing or not the code's own
    (a tree exported to a machine without network); the record then says where the commit came from."""
    given = os.environ.get("WATTPRINT_COMMIT", "").strip()
    if given:
        return {"commit": given, "dirty": None, "source": "WATTPRINT_COMMIT"}
    where = Path(start) if start else Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=5)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where,
                               capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return {"commit": head.stdout.strip(), "dirty": bool(dirty.stdout.strip()) if dirty.returncode == 0 else None}


def snapshot(nvml: Any = None) -> dict[str, Any]:
    """Everything above in one dict, for ``RunRecord.environment``."""
    return {
        "host": platform.node(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "hardware": hardware(),
        **gpus(nvml),
        "libraries": libraries(),
        "git": git_revision(),
    }
