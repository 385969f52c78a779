"""Which NVIDIA GPUs a meter counts: those this process can use, resolved through UUIDs.

``CUDA_VISIBLE_DEVICES`` may hold UUIDs (``GPU-8a4f...``, unique prefixes allowed, as CUDA allows), MIG
instances (``MIG-...``), or indices. UUIDs and MIG forms are exact. Indices are CUDA's, which follow
CUDA's own order (fastest first by default), not NVML's: they map to NVML indices exactly when
``CUDA_DEVICE_ORDER=PCI_BUS_ID`` (NVML enumerates by PCI bus) or when torch has already initialised CUDA
(then the UUID of each CUDA device is asked of torch, never importing it); otherwise NVML's order is used
as a stated fallback, with a warning in every Measurement.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from wattprint.core.errors import ConfigError


@dataclass(frozen=True)
class Selected:
    handle: Any
    nvml_index: int
    uuid: str
    name: str
    note: str = ""  # e.g. "MIG instance MIG-...: whole-GPU energy"


def _decode(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def all_devices(nvml: Any) -> list[Selected]:
    out = []
    for i in range(nvml.nvmlDeviceGetCount()):
        h = nvml.nvmlDeviceGetHandleByIndex(i)
        out.append(Selected(h, i, _decode(nvml.nvmlDeviceGetUUID(h)), _decode(nvml.nvmlDeviceGetName(h))))
    return out


def parse_visible(value: str | None) -> list[str] | None:
    """Entries of CUDA_VISIBLE_DEVICES; None when unset (all devices). Stops at an invalid entry, as CUDA."""
    if value is None:
        return None
    out = []
    for raw in value.split(","):
        entry = raw.strip()
        if not entry:
            break
        if entry.isdigit() or entry.startswith(("GPU-", "MIG-")):
            out.append(entry)
            continue
        if entry.lstrip("-").isdigit():  # "-1" hides every device after it
            break
        break
    return out


def select(nvml: Any, request: Any, env: Mapping[str, str]) -> tuple[list[Selected], list[str]]:
    """Resolve ``request`` ("visible", None, or a list of NVML indices / UUIDs) to devices + warnings."""
    if request is None:
        return [], []
    devices = all_devices(nvml)
    if request == "visible":
        return _visible(nvml, devices, env)
    if isinstance(request, (str, int)):
        request = [request]
    return [_by_user_id(nvml, devices, r) for r in request], []


def _by_user_id(nvml: Any, devices: Sequence[Selected], r: Any) -> Selected:
    if isinstance(r, int) or (isinstance(r, str) and r.isdigit()):
        i = int(r)
        if not 0 <= i < len(devices):
            raise ConfigError(f"no GPU with NVML index {i} (this machine has {len(devices)})",
                              fix="list GPUs with `nvidia-smi -L` or `wattprint doctor`")
        return devices[i]
    return _by_uuid(nvml, devices, str(r))


def _by_uuid(nvml: Any, devices: Sequence[Selected], entry: str) -> Selected:
    if entry.startswith("MIG-"):
        mig = nvml.nvmlDeviceGetHandleByUUID(entry)
        parent = nvml.nvmlDeviceGetDeviceHandleFromMigDeviceHandle(mig)
        uuid = _decode(nvml.nvmlDeviceGetUUID(parent))
        base = next(d for d in devices if d.uuid == uuid)
        return Selected(base.handle, base.nvml_index, base.uuid, base.name,
                        note=f"MIG instance {entry}: energy is that of the whole parent GPU")
    matches = [d for d in devices if d.uuid.startswith(entry)]
    if len(matches) != 1:
        what = "no GPU" if not matches else f"{len(matches)} GPUs"
        raise ConfigError(f"{what} with UUID {entry!r}", fix="list UUIDs with `nvidia-smi -L`")
    return matches[0]


def _visible(nvml: Any, devices: list[Selected], env: Mapping[str, str]) -> tuple[list[Selected], list[str]]:
    entries = parse_visible(env.get("CUDA_VISIBLE_DEVICES"))
    if entries is None:
        return devices, []
    warnings: list[str] = []
    chosen: list[Selected] = []
    torch_uuids = _torch_uuids()
    for pos, e in enumerate(entries):
        if not e.isdigit():
            sel = _by_uuid(nvml, devices, e)
        elif torch_uuids is not None and pos < len(torch_uuids):
            sel = _by_uuid(nvml, devices, torch_uuids[pos])
        else:
            i = int(e)
            if i >= len(devices):
                break  # CUDA ignores entries past an invalid one
            sel = devices[i]
            if env.get("CUDA_DEVICE_ORDER") != "PCI_BUS_ID" and len(devices) > 1:
                warnings.append(
                    f"CUDA_VISIBLE_DEVICES entry {e} mapped through NVML's PCI order (fallback); CUDA's "
                    "default order may differ: set CUDA_DEVICE_ORDER=PCI_BUS_ID or use GPU UUIDs")
        if sel.note:
            warnings.append(sel.note)
        if all(c.uuid != sel.uuid for c in chosen):
            chosen.append(sel)
    return chosen, warnings


def _torch_uuids() -> list[str] | None:
    """UUIDs of CUDA's logical devices, only if torch is already imported and CUDA initialised."""
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_initialized():
        return None
    uuids = []
    for i in range(torch.cuda.device_count()):
        u = str(torch.cuda.get_device_properties(i).uuid)
        uuids.append(u if u.startswith(("GPU-", "MIG-")) else f"GPU-{u}")
    return uuids
