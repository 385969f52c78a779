"""A job's GPUs by UUID: Ray's ids map to NVML devices, never to all of them."""

from __future__ import annotations

import pytest

from wattprint.cluster.gpus import assigned_gpu_ids, resolve_gpu_uuids
from wattprint.core.clock import ManualClock
from wattprint.core.errors import ConfigError
from wattprint.meter.sim.nvml import SimGpu, SimNvml


class _PciNvml(SimNvml):
    """The stand-in, plus PCI bus ids listed in reverse of the NVML index order."""

    def nvmlDeviceGetPciInfo(self, h):
        class Info:
            busId = f"00000000:{0x90 - 0x10 * h.index:02X}:00.0".encode()

        return Info()


def _nvml(cls=SimNvml, n=3):
    return cls([SimGpu() for _ in range(n)], ManualClock())


def test_indices_map_to_uuids_in_index_order_without_pci_information():
    nvml = _nvml()
    a = resolve_gpu_uuids(["2", "0"], nvml=nvml)
    assert a.uuids == (nvml.gpus[2].uuid, nvml.gpus[0].uuid)
    assert a.method == "nvml-index-order"


def test_indices_follow_pci_bus_order_like_cuda():
    nvml = _nvml(_PciNvml)
    a = resolve_gpu_uuids(["0"], nvml=nvml)
    # index 0 under CUDA_DEVICE_ORDER=PCI_BUS_ID is the lowest bus id: NVML's last device here
    assert a.uuids == (nvml.gpus[2].uuid,) and a.method == "nvml-pci-order"


def test_uuids_pass_through_and_no_gpus_means_none():
    assert resolve_gpu_uuids(["GPU-abc", "MIG-def"]).uuids == ("GPU-abc", "MIG-def")
    none = resolve_gpu_uuids([])
    assert none.uuids == () and none.method == "none"


def test_an_index_past_the_node_is_an_error():
    with pytest.raises(ConfigError, match="names no GPU"):
        resolve_gpu_uuids(["3"], nvml=_nvml())


def test_visible_devices_outside_ray():
    assert assigned_gpu_ids(None, {"CUDA_VISIBLE_DEVICES": "1,GPU-x"}) == ["1", "GPU-x"]
    assert assigned_gpu_ids(None, {"CUDA_VISIBLE_DEVICES": ""}) == []
    assert assigned_gpu_ids(None, {}) == []
