"""The NVML backend's settings: periods, the counter-read budget and the schedule's tuning, in one frozen config.

Each default says why it is what it is; the figures come from the simulated card (``wattprint.meter.sim``) and
the H100/H200 runs of ``benchmarks/gpu_meter_check.py`` and ``benchmarks/nvml_call_cost.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wattprint.meter.timeline import TimelineConfig

# A counter read starting this soon after a refresh (as the phase search placed it, +-half a read: ~2.3 ms
# on an H100) may still return the previous refresh's value, and one starting this soon before it may
# already return the next one's (simulated: a reading filed one refresh early, 7 J on a 238 J window): it
# is read again once past the refresh and this margin.
REFRESH_GUARD_S = 0.003
# The counter-read budget (each read ~3 ms of CPU on Hopper) is spent where windows are. It refills at
# OPEN_RATE_X x counter_reads_per_s at all times, up to BURST_READS. With no window open only the periodic read
# is taken (every counter_period_s) and the rest is saved for the next window, so that a short window every
# 2-3 s finds the ~5 reads its edges ask for; while a window is open spare reads take every refresh interval
# (keeping OPEN_RESERVE reads for the intervals an end edge asks for). Long-run cost: never more than
# OPEN_RATE_X x counter_reads_per_s however windows come.
BURST_READS = 12.0
OPEN_RATE_X = 3.0
OPEN_RESERVE = 3.0
# A reading that has not moved since an earlier refresh interval's (the refresh came late) is read again once,
# this long after; a GPU's counter moves by >= ~6 J per 100 ms even idle.
LATE_RETRY_S = 0.02
PHASE_RETRY_S = 5.0  # after a failed refresh-phase search (it costs up to ~2.5 refreshes of counter reads)
EDGE_POLL_S = 0.05  # the sampler's period before a counter's refresh phase is known
# Once the first GPU's counter phase is known the sampler polls once per refresh interval, this long after each
# refresh (mid-interval): every interval an edge asks a reading in gets exactly one chance, at 10 wake-ups per
# second (free-running 50 ms polls took 20 and still missed intervals now and then); an edge that asks for its
# own interval after that interval's poll wakes the sampler at once (set_waker). Mid-interval rather than just
# after the refresh: counter reads stay clear of REFRESH_GUARD_S, and the power field (which refreshes 10-33 ms
# after the counter on an H100) is read 17-40 ms after its refresh instead of ~70-95 ms (a value stamped at its
# read time is held that much late). Simulated (back-to-back irregular windows, field 15-30 ms behind the
# counter): median error 0.34 s 8.6-11% (6 ms slot: 14-21%), 1.07 s 0.13% (1.0-1.2%).
POLL_AFTER_REFRESH_S = 0.05


@dataclass(frozen=True)
class NvmlConfig:
    """Periods in seconds. ``counter_reads_per_s`` sets the counter-read budget (each ~3 ms of CPU on Hopper):
    it refills at ``open_rate_x`` times that rate, is saved (up to ``burst_reads``) while no window is open and
    spent where windows are. ``use_counter=False`` forces the sampled method. The other fields are the
    schedule's tuning (module constants above, with their reasons)."""

    # From the H100 costs: a power poll ~0.25 ms of CPU, a counter read 4.35 ms; at 1 poll/50 ms and 1 read/s
    # the sampler took 1.4-1.7% of a core, over the 1% target.
    power_period_s: float = 0.1
    counter_period_s: float = 4.0
    counter_reads_per_s: float = 0.5
    sync_counter_s: float = 1.0
    resync_s: float = 120.0
    use_counter: bool = True
    timeline: TimelineConfig = field(default_factory=TimelineConfig)
    refresh_guard_s: float = REFRESH_GUARD_S
    burst_reads: float = BURST_READS
    open_rate_x: float = OPEN_RATE_X
    open_reserve: float = OPEN_RESERVE
    late_retry_s: float = LATE_RETRY_S
    phase_retry_s: float = PHASE_RETRY_S
    edge_poll_s: float = EDGE_POLL_S
    poll_after_refresh_s: float = POLL_AFTER_REFRESH_S

    def __post_init__(self) -> None:
        if not 0 < self.power_period_s <= 0.1:
            raise ValueError("power_period_s must be in (0, 0.1] s: sampled GPUs need <= 100 ms")
        if self.counter_period_s <= 0 or self.counter_reads_per_s <= 0:
            raise ValueError("counter_period_s and counter_reads_per_s must be positive")
