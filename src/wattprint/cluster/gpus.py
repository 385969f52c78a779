"""Which physical GPUs a sweep job owns, by NVML UUID.

Ray gives each GPU job a list of GPU ids and sets ``CUDA_VISIBLE_DEVICES`` to them before the job
starts. Those ids are either NVML UUIDs (when the node was started with UUIDs in
``CUDA_VISIBLE_DEVICES``) or integer indices. An index means "the i-th GPU in CUDA's order"; CUDA's
default order ("FASTEST_FIRST") may differ from the PCI order on a node of mixed GPUs, so the sweep
runs its GPU jobs with ``CUDA_DEVICE_ORDER=PCI_BUS_ID`` and this module maps an index to the i-th
GPU in PCI bus order as NVML reports it. The meter then measures only these UUIDs: two jobs on one
node never count each other's GPUs.

NVML is passed in as a module (``pynvml`` or :mod:`wattprint.meter.sim`'s stand-in), never global.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wattprint.core.errors import BackendUnavailable, ConfigError

#: Environment every GPU job runs with, so an index means the same GPU to CUDA and to NVML.
GPU_JOB_ENV = {"CUDA_DEVICE_ORDER": "PCI_BUS_ID"}


@dataclass(frozen=True)
class GpuAssignment:
    """The GPUs a job was given: the ids as Ray gave them, their UUIDs, and how they were matched."""

    ids: tuple[str, ...]
    uuids: tuple[str, ...]
    method: str  # "none", "uuid" (ids were UUIDs), "nvml-pci-order" (index into NVML's PCI order)

    def to_dict(self) -> dict[str, Any]:
        return {"ids": list(self.ids), "uuids": list(self.uuids), "method": self.method}


def assigned_gpu_ids(ray_module: Any = None, environ: dict[str, str] | None = None) -> list[str]:
    """The GPU ids this process was given: Ray's when running in a Ray worker, else CUDA_VISIBLE_DEVICES."""
    if ray_module is not None and ray_module.is_initialized():
        return [str(i) for i in ray_module.get_gpu_ids()]
    env = os.environ if environ is None else environ
    visible = env.get("CUDA_VISIBLE_DEVICES", "").strip()
    if not visible or visible == "-1":
        return []
    return [v.strip() for v in visible.split(",") if v.strip()]


def _as_str(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _pci_ordered_uuids(nvml: Any) -> tuple[list[str], str]:
    """All of the node's GPUs as UUIDs in PCI bus order (CUDA's order under PCI_BUS_ID), and the method.

    An NVML without PCI information (a stand-in) gives its index order, and the method says so.
    """
    pci_info = getattr(nvml, "nvmlDeviceGetPciInfo", None)
    found = []
    for i in range(nvml.nvmlDeviceGetCount()):
        handle = nvml.nvmlDeviceGetHandleByIndex(i)
        bus = _as_str(pci_info(handle).busId).lower() if pci_info else f"{i:08d}"
        found.append((bus, _as_str(nvml.nvmlDeviceGetUUID(handle))))
    return [uuid for _, uuid in sorted(found)], "nvml-pci-order" if pci_info else "nvml-index-order"


def resolve_gpu_uuids(ids: Sequence[str], nvml: Any = None) -> GpuAssignment:
    """Map the GPU ids a job was given to NVML UUIDs.

    Raises :class:`BackendUnavailable` when ids are indices and NVML cannot be read, and
    :class:`ConfigError` when an index names no GPU of this node. A job that owns GPUs must never
    fall back to measuring all of them.
    """
    ids = tuple(str(i) for i in ids)
    if not ids:
        return GpuAssignment((), (), "none")
    if all(i.startswith(("GPU-", "MIG-")) for i in ids):
        return GpuAssignment(ids, ids, "uuid")
    if nvml is None:
        nvml = _load_nvml()
    ordered, method = _pci_ordered_uuids(nvml)
    uuids = []
    for i in ids:
        if i.startswith(("GPU-", "MIG-")):
            uuids.append(i)
            continue
        if not i.isdigit() or int(i) >= len(ordered):
            raise ConfigError(
                f"GPU id {i!r} given to this job names no GPU of this node ({len(ordered)} found by NVML)",
                "start the Ray node with CUDA_VISIBLE_DEVICES listing GPU indices or UUIDs of this node",
            )
        uuids.append(ordered[int(i)])
    return GpuAssignment(ids, tuple(uuids), method)


def confirm_with_cuda(assignment: GpuAssignment) -> GpuAssignment:
    """Check the UUIDs against what CUDA itself sees in this process, when torch sees GPUs.

    CUDA is the authority on which devices the job's code runs on; where it disagrees with the NVML
    mapping, CUDA's UUIDs are kept and the method says so. Without torch or CUDA, unchanged.
    """
    if not assignment.uuids:
        return assignment
    try:
        import torch
    except ImportError:
        return assignment
    if not torch.cuda.is_available():
        return assignment
    seen = []
    for i in range(torch.cuda.device_count()):
        uuid = str(torch.cuda.get_device_properties(i).uuid)
        seen.append(uuid if uuid.startswith(("GPU-", "MIG-")) else f"GPU-{uuid}")
    if tuple(seen) == assignment.uuids:
        return GpuAssignment(assignment.ids, assignment.uuids, f"{assignment.method}+cuda-confirmed")
    return GpuAssignment(assignment.ids, tuple(seen), f"cuda (NVML mapping gave {list(assignment.uuids)})")


def _load_nvml() -> Any:
    try:
        import pynvml
    except ImportError as e:  # nvidia-ml-py is a core dependency; a broken install lands here
        raise BackendUnavailable(
            "this job was given GPUs but nvidia-ml-py cannot be imported", "pip install nvidia-ml-py"
        ) from e
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as e:
        raise BackendUnavailable(
            f"this job was given GPUs but NVML does not answer: {e}",
            "check the NVIDIA driver on this node (nvidia-smi)",
        ) from e
    return pynvml
