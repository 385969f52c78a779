"""NVIDIA GPUs through NVML (nvidia-ml-py). The NVML module is a parameter, so a stand-in can be injected.

Per GPU, a :class:`~wattprint.meter.timeline.Timeline` holds the instantaneous power field
(``NVML_FI_DEV_POWER_INSTANT``: 11 µs per read on an H100, follows the load ~20 ms late) sampled every
``power_period_s``, and readings of the total energy counter (``nvmlDeviceGetTotalEnergyConsumption``: ~3-4.6 ms
of CPU per read on Hopper, refreshed every 100 ms). The parts, one job each:

- ``device``: what NVML is asked (the counter, the power field or its lagging fallback);
- ``phase``: the counter's refresh phase, found by watching it change (the power field's refreshes are not the
  counter's), so that every reading is filed under the refresh interval it belongs to;
- ``gpu``: one GPU's readings into its timeline, guarded against reads that straddle a refresh or come from a
  late one;
- ``budget``: the counter-read budget (``counter_reads_per_s``: its CPU cost), a token bucket;
- ``schedule``: which intervals window edges ask a reading in (their own and the next two; edges read
  nothing), and when the sampler polls next (once per refresh interval, just after mid-interval);
- ``backend``: :class:`NvmlBackend`, the meter's backend assembled from them.

A window of at least ``sync_counter_s`` also reads the counter once at its end (under 0.5% of it). GPUs
without the counter (before Volta) are sampled and integrated (method "sampled").
"""

from wattprint.meter.backends.nvml.backend import NvmlBackend
from wattprint.meter.backends.nvml.config import (
    BURST_READS,
    EDGE_POLL_S,
    LATE_RETRY_S,
    OPEN_RATE_X,
    OPEN_RESERVE,
    POLL_AFTER_REFRESH_S,
    REFRESH_GUARD_S,
    NvmlConfig,
)
from wattprint.meter.backends.nvml.device import FI_POWER_INSTANT

__all__ = ["BURST_READS", "EDGE_POLL_S", "FI_POWER_INSTANT", "LATE_RETRY_S", "OPEN_RATE_X", "OPEN_RESERVE",
           "POLL_AFTER_REFRESH_S", "REFRESH_GUARD_S", "NvmlBackend", "NvmlConfig"]
