"""NVIDIA GPUs through NVML (nvidia-ml-py). The NVML module is a parameter, so a stand-in can be injected.

Per GPU, a :class:`~wattprint.meter.timeline.Timeline` holds the instantaneous power field
(``NVML_FI_DEV_POWER_INSTANT``, ~3 µs per read on an H100, follows the load) sampled every
``power_period_s``, and the total energy counter (``nvmlDeviceGetTotalEnergyConsumption``, ~3.5 ms per
read, moves every ~100 ms) read every ``counter_period_s``, plus once at the end of any window at least
``sync_counter_s`` long (3.5 ms is then under 0.35% of the window). Window edges read nothing.
GPUs without the counter (before Volta) are sampled and integrated (method "sampled").
``nvmlDeviceGetPowerUsage`` is a lagging ~1 s average on recent GPUs: used only if the field is missing,
with a warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from wattprint.core.clock import Clock, SystemClock
from wattprint.core.errors import BackendUnavailable
from wattprint.meter.backends.base import BackendResult, Mark
from wattprint.meter.result import ComponentEnergy, Kind
from wattprint.meter.timeline import Timeline, TimelineConfig
from wattprint.meter.visible import Selected, select

FI_POWER_INSTANT = 186  # NVML_FI_DEV_POWER_INSTANT (nvml.h)


@dataclass(frozen=True)
class NvmlConfig:
    """Sampling periods (s). ``use_counter=False`` forces the sampled method (for comparisons)."""

    power_period_s: float = 0.02
    counter_period_s: float = 1.0
    sync_counter_s: float = 1.0
    use_counter: bool = True
    timeline: TimelineConfig = field(default_factory=TimelineConfig)

    def __post_init__(self) -> None:
        if not 0 < self.power_period_s <= 0.1:
            raise ValueError("power_period_s must be in (0, 0.1] s: sampled GPUs need <= 100 ms")
        if self.counter_period_s <= 0:
            raise ValueError("counter_period_s must be positive")


class _Gpu:
    def __init__(self, nvml: Any, sel: Selected, cfg: NvmlConfig, now: Any) -> None:
        self.nvml = nvml
        self.now = now
        self.sel = sel
        self.has_counter = cfg.use_counter and _has_counter(nvml, sel.handle)
        self.power_read, self.power_source = _power_reader(nvml, sel.handle)
        self.timeline = Timeline(cfg.timeline, has_counter=self.has_counter)
        self.error = ""

    def _stamp(self, read: Any) -> tuple[float, float]:
        a = self.now()
        v = read()
        return (a + self.now()) / 2, v

    def poll_power(self) -> None:
        if self.timeline.lost_at is not None:
            return
        try:
            t, w = self._stamp(self.power_read)
        except self.nvml.NVMLError as e:
            self._lost(e)
            return
        self.timeline.add_power(t, w)

    def poll_counter(self) -> None:
        """Read the counter between two power readings. The counter holds the energy up to the device's
        last refresh, which the timeline finds where the power field changes; if the field changed
        between the two readings, the refresh may fall either side of the counter read: read again."""
        if not self.has_counter or self.timeline.lost_at is not None:
            return
        try:
            for _ in range(3):
                tp0, w0 = self._stamp(self.power_read)
                t, mj = self._stamp(lambda: self.nvml.nvmlDeviceGetTotalEnergyConsumption(self.sel.handle))
                tp1, w1 = self._stamp(self.power_read)
                self.timeline.add_power(tp0, w0)
                self.timeline.add_power(tp1, w1)
                if w0 == w1:
                    break
        except self.nvml.NVMLError as e:
            self._lost(e)
            return
        self.timeline.add_counter(t, mj / 1000.0)

    def _lost(self, e: Exception) -> None:
        self.error = f"{type(e).__name__}: {e}"
        self.timeline.mark_lost(self.now())


def _has_counter(nvml: Any, handle: Any) -> bool:
    try:
        nvml.nvmlDeviceGetTotalEnergyConsumption(handle)
    except nvml.NVMLError:
        return False
    return True


def _field_value(fv: Any) -> float:
    vt = fv.valueType
    v = fv.value
    return float({0: v.dVal, 1: v.uiVal, 2: v.ulVal, 3: v.ullVal, 4: v.sllVal, 5: v.siVal}.get(vt, v.uiVal))


def _power_reader(nvml: Any, handle: Any) -> tuple[Any, str]:
    """A function returning watts: the instant field if it answers, else the (lagging) average."""

    def instant() -> float:
        fv = nvml.nvmlDeviceGetFieldValues(handle, [FI_POWER_INSTANT])[0]
        if fv.nvmlReturn != 0:
            raise nvml.NVMLError(fv.nvmlReturn)
        return _field_value(fv) / 1000.0

    try:
        instant()
        return instant, "NVML_FI_DEV_POWER_INSTANT"
    except (nvml.NVMLError, AttributeError, IndexError):
        return (lambda: nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0), "nvmlDeviceGetPowerUsage (~1 s average)"


class NvmlBackend:
    """NVIDIA GPUs. ``gpus``: "visible" (default), a list of NVML indices or UUIDs. ``env``: for tests."""

    source = "nvml"

    def __init__(self, nvml: Any, gpus: Any = "visible", config: NvmlConfig | None = None,
                 env: Mapping[str, str] | None = None, clock: Clock | None = None) -> None:
        import os

        self.config = config or NvmlConfig()
        self.nvml = nvml
        try:
            nvml.nvmlInit()
        except nvml.NVMLError as e:
            raise BackendUnavailable(f"NVML did not initialise: {e}",
                                     fix="install the NVIDIA driver, or run where a GPU is visible") from e
        selected, self.select_warnings = select(nvml, gpus, os.environ if env is None else env)
        self.gpus = [_Gpu(nvml, s, self.config, (clock or SystemClock()).monotonic) for s in selected]
        self.poll_period_s = self.config.power_period_s if self.gpus else None
        self._next_counter = 0.0

    def describe(self) -> list[str]:
        return [f"gpu:{g.sel.nvml_index} {g.sel.name} {g.sel.uuid} "
                f"({'counter' if g.has_counter else 'sampled'}, {g.power_source})" for g in self.gpus]

    def poll(self, now: float) -> None:
        for g in self.gpus:
            g.poll_power()
        if now >= self._next_counter:
            self._next_counter = now + self.config.counter_period_s
            for g in self.gpus:
                g.poll_counter()

    def mark(self, now: float, begin: Mark | None = None) -> Mark:
        if begin is not None and now - begin.t >= self.config.sync_counter_s:
            for g in self.gpus:  # long window: one counter read anchors its end (cost << 0.35%)
                g.poll_counter()
        return Mark(now)

    def energy(self, begin: Mark, end: Mark) -> BackendResult:
        comps, warns = [], list(self.select_warnings)
        for g in self.gpus:
            r = g.timeline.resolve(begin.t, end.t)
            comps.append(self._component(g, r, end.t - begin.t))
            if r.lost_at is not None and r.lost_at < end.t:
                warns.append(f"GPU {g.sel.nvml_index} ({g.sel.uuid}) was lost "
                             f"{max(r.lost_at - begin.t, 0):.3f} s into window ({g.error}): energy counted "
                             "up to the loss")
            elif g.has_counter and end.t - begin.t < g.timeline.config.update_period_s:
                warns.append(f"window {end.t - begin.t:.4f} s is shorter than GPU {g.sel.nvml_index}'s "
                             f"~{g.timeline.config.update_period_s} s counter update: its energy is instant "
                             "power x time, see its uncertainty")
        return BackendResult(tuple(comps), tuple(dict.fromkeys(warns)))

    def _component(self, g: _Gpu, r: Any, duration: float) -> ComponentEnergy:
        if g.has_counter:
            detail = (f"nvmlDeviceGetTotalEnergyConsumption anchors {r.anchored_fraction:.0%} of the window; "
                      f"rest: {g.power_source} x{r.scale:.3f} (counter/instant ratio)")
        else:
            detail = (f"{g.power_source} every {self.config.power_period_s * 1000:.0f} ms, integrated "
                      "(no energy counter on this GPU)")
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

