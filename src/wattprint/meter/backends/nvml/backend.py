"""NvmlBackend: NVIDIA GPUs through NVML, assembled from its parts (reads, refresh phase, budget, schedule)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from wattprint.core.clock import Clock, SystemClock
from wattprint.core.errors import BackendUnavailable
from wattprint.meter.backends.base import Backend, BackendResult, Mark
from wattprint.meter.backends.nvml.budget import ReadBudget
from wattprint.meter.backends.nvml.config import NvmlConfig
from wattprint.meter.backends.nvml.gpu import Gpu
from wattprint.meter.backends.nvml.schedule import EdgeRequests, next_poll_delay
from wattprint.meter.result import ComponentEnergy, Kind
from wattprint.meter.timeline import Resolved
from wattprint.meter.visible import select


class NvmlBackend(Backend):
    """NVIDIA GPUs. ``nvml``: the pynvml module (or the simulated one). ``gpus``: "visible" (default), a list of
    NVML indices or UUIDs. ``env``: the environment to read CUDA_VISIBLE_DEVICES from (tests)."""

    source = "nvml"
    waits_for_readings = True

    def __init__(self, nvml: Any, gpus: Any = "visible", config: NvmlConfig | None = None,
                 env: Mapping[str, str] | None = None, clock: Clock | None = None) -> None:
        self.config = config or NvmlConfig()
        self.nvml = nvml
        try:
            nvml.nvmlInit()
        except nvml.NVMLError as e:
            raise BackendUnavailable(f"NVML did not initialise: {e}",
                                     fix="install the NVIDIA driver, or run where a GPU is visible") from e
        selected, self.select_warnings = select(nvml, gpus, os.environ if env is None else env)
        self.gpus = [Gpu(nvml, s, self.config, clock or SystemClock()) for s in selected]
        counters = any(g.has_counter for g in self.gpus)
        # until the first poll returns its own delay: often enough to find a counter's refresh phase
        self.poll_period_s = (min(self.config.power_period_s, self.config.edge_poll_s) if counters
                              else self.config.power_period_s) if self.gpus else None
        self.budget = ReadBudget(self.config.counter_reads_per_s, self.config.open_rate_x, self.config.burst_reads)
        self.requests = EdgeRequests()
        self._power_due = float("-inf")
        self._next_counter = 0.0
        self._polled = False
        self._waker: Callable[[], None] | None = None

    def set_waker(self, wake: Callable[[], None]) -> None:
        """An edge that asks for a reading in its own refresh interval wakes the sampler, so that the reading
        comes in that interval, not up to a period late."""
        self._waker = wake

    def set_counter_reads_per_s(self, reads_per_s: float) -> None:
        self.config = replace(self.config, counter_reads_per_s=float(reads_per_s))
        self.budget.reads_per_s = float(reads_per_s)

    def describe(self) -> list[str]:
        return [f"gpu:{g.sel.nvml_index} {g.sel.name} {g.sel.uuid} "
                f"({'counter' if g.has_counter else 'sampled'}, {g.power_source})" for g in self.gpus]

    def _counters(self) -> list[Gpu]:
        return [g for g in self.gpus if g.has_counter and g.live]

    @property
    def _every_refresh(self) -> bool:
        """Whether the budget pays for a read at every refresh of every counter (5% slack for a refresh
        period measured a little under its nominal 100 ms)."""
        counters = self._counters()
        return bool(counters) and (self.config.counter_reads_per_s * min(g.refresh.period for g in counters)
                                   >= 0.95 * len(counters))

    def ready(self) -> bool:
        """Whether the sampler has taken its first readings and searched for each counter's refresh phase."""
        return self._polled and all(not g.has_counter or g.refresh.synced_at is not None or not g.live
                                    for g in self.gpus)

    def poll(self, now: float) -> float:
        """One round of readings; returns the delay until the next round is due (see ``schedule``). Steady
        cost on Hopper: 10 power reads/s plus the counter budget; an edge's wake-up can add a round."""
        first, self._polled = not self._polled, True
        power = now >= self._power_due or self.poll_period_s == self.config.power_period_s
        if power:
            self._power_due = now + 0.9 * self.config.power_period_s
        for g in self.gpus:
            if power:
                g.poll_power()
            if not g.has_counter:
                continue
            if first:  # at construction: one plain reading; the sampler thread finds the phase
                g.read_counter()
                continue
            self._poll_counter(g, now)
        lead = next(iter(self._counters()), None)
        return next_poll_delay(now, None if lead is None else lead.refresh, self.config)

    def _poll_counter(self, g: Gpu, now: float) -> None:
        # no phase yet: try again soon (every window until then rests on the power field)
        retry = self.config.resync_s if g.refresh.phase is not None else self.config.phase_retry_s
        if g.refresh.synced_at is None or now - g.refresh.synced_at > retry:
            g.sync_phase()
            return
        k = g.refresh.index(now)
        assert k is not None
        fresh, want, is_open = self.requests.take(k, g.last_read_k)
        due = now >= self._next_counter
        # budget beyond what edges ask for reads every interval while a window is open (its cut intervals need
        # their neighbours), keeping a reserve for the end edge's requests; with no window open it is saved (up
        # to burst_reads) for the next window, unless it pays for a read at every refresh of every counter (a
        # bought budget, e.g. the bench runner's 10/s): then the interval before a window's begin has its
        # reading too, and the begin's cut interval is priced from both sides
        spare = fresh and not due and (is_open or self._every_refresh)
        if ((want or due) and self.budget.spend(now)) or \
                (spare and self.budget.spend(now, reserve=self.config.open_reserve)):
            g.read_counter()
            if due:
                self._next_counter = now + self.config.counter_period_s

    def mark(self, now: float, begin: Mark | None = None) -> Mark:
        self.requests.edge(begin is None)  # a window's cut intervals at both ends need the readings around them
        if begin is not None and now - begin.t >= self.config.sync_counter_s:
            for g in self.gpus:  # long window: one counter read anchors its end (cost << 0.5%)
                g.read_counter()
        for g in self.gpus[:1]:  # ask the sampler for readings around this edge (never waits)
            k = g.refresh.index(now)
            if k is not None and self.requests.ask(k, g.last_read_k) and self._waker is not None \
                    and self.budget.affordable(now):
                self._waker()  # this interval's reading now, not at the next poll (maybe past the refresh)
        return Mark(now)

    def settled(self, t: float) -> bool:
        """Whether the readings that describe time ``t`` have arrived: the one closing the refresh interval cut
        at ``t`` and the next (that interval's mean power prices the part after ``t``; without it the part was
        shared by time, the idle after a window's work counted in it: -1.7% on simulated 1.07 s windows)."""
        return all(not g.has_counter or not g.live or g.refresh.phase is None
                   or g.timeline.has_counter_after(t + g.refresh.period) for g in self.gpus)

    def energy(self, begin: Mark, end: Mark) -> BackendResult:
        comps, warns = [], list(self.select_warnings)
        for g in self.gpus:
            r = g.timeline.resolve(begin.t, end.t)
            comps.append(self._component(g, r))
            if r.lost_at is not None and r.lost_at < end.t:
                warns.append(f"GPU {g.sel.nvml_index} ({g.sel.uuid}) was lost "
                             f"{max(r.lost_at - begin.t, 0):.3f} s into window ({g.error}): energy counted "
                             "up to the loss")
            elif g.has_counter and end.t - begin.t < g.timeline.config.update_period_s:
                warns.append(f"window {end.t - begin.t:.4f} s is shorter than GPU {g.sel.nvml_index}'s "
                             f"~{g.timeline.config.update_period_s} s counter update: its energy is instant "
                             "power x time, see its uncertainty")
        return BackendResult(tuple(comps), tuple(dict.fromkeys(warns)))

    def _component(self, g: Gpu, r: Resolved) -> ComponentEnergy:
        if g.has_counter:
            detail = (f"nvmlDeviceGetTotalEnergyConsumption anchors {r.anchored_fraction:.0%} of the window; "
                      f"rest: {g.power_source} x{r.scale:.3f} (counter/instant ratio)")
        else:
            why = "no energy counter on this GPU" if self.config.use_counter else "use_counter=False"
            detail = f"{g.power_source} every {self.config.power_period_s * 1000:.0f} ms, integrated ({why})"
        return ComponentEnergy(
            kind=Kind.GPU, name=g.sel.name, energy_j=r.energy_j, method=r.method,
            uncertainty_j=r.uncertainty_j, source="nvml", index=g.sel.nvml_index, uuid=g.sel.uuid,
            scope="device", detail=detail + (f"; {g.sel.note}" if g.sel.note else ""), samples=r.samples)

    def keep_since(self, t: float) -> None:
        for g in self.gpus:
            g.timeline.prune(t - g.timeline.config.history_s)

    def close(self) -> None:
        try:
            self.nvml.nvmlShutdown()
        except self.nvml.NVMLError:
            pass  # shutting down a library that already failed: nothing left to release
