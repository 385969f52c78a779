"""AMD GPUs through amdsmi (a parameter, so a stand-in can be injected), on the same timeline as NVML.

Energy: ``amdsmi_get_energy_count`` (accumulator x counter_resolution µJ) where it answers, read every
``counter_period_s``; power: ``amdsmi_get_power_info`` (current, else average socket power, W) every
``power_period_s``. Without the counter the GPU is sampled and integrated (method "sampled").
"""

from __future__ import annotations

from typing import Any

from wattprint.core.clock import Clock, SystemClock
from wattprint.core.errors import BackendUnavailable
from wattprint.meter.backends.base import Backend, BackendResult, Mark
from wattprint.meter.result import ComponentEnergy, Kind
from wattprint.meter.timeline import Timeline, TimelineConfig


def _energy_j(smi: Any, h: Any) -> float:
    d = smi.amdsmi_get_energy_count(h)
    acc = d.get("energy_accumulator", d.get("power"))
    return float(acc) * float(d["counter_resolution"]) / 1e6


def _power_w(smi: Any, h: Any) -> float:
    d = smi.amdsmi_get_power_info(h)
    v = d.get("current_socket_power")
    if not isinstance(v, (int, float)):
        v = d.get("average_socket_power")
    return float(v)


class _AmdGpu:
    def __init__(self, smi: Any, h: Any, index: int, cfg: TimelineConfig) -> None:
        self.smi, self.h, self.index = smi, h, index
        self.uuid = str(smi.amdsmi_get_gpu_device_uuid(h))
        self.name = str(smi.amdsmi_get_gpu_asic_info(h).get("market_name", "AMD GPU"))
        try:
            _energy_j(smi, h)
            self.has_counter = True
        except (smi.AmdSmiException, KeyError, TypeError):
            self.has_counter = False
        self.timeline = Timeline(cfg, has_counter=self.has_counter)
        self.error = ""


class AmdBackend(Backend):
    source = "amdsmi"

    def __init__(self, smi: Any, gpus: Any = "visible", clock: Clock | None = None,
                 power_period_s: float = 0.02, counter_period_s: float = 0.2,
                 timeline: TimelineConfig | None = None) -> None:
        self.smi = smi
        self.now = (clock or SystemClock()).monotonic
        try:
            smi.amdsmi_init()
            handles = list(smi.amdsmi_get_processor_handles())
        except smi.AmdSmiException as e:
            raise BackendUnavailable(f"amdsmi did not initialise: {e}", fix="install the ROCm driver") from e
        # amdsmi's current socket power is read live (no ~100 ms field lag as on NVIDIA)
        cfg = timeline or TimelineConfig(update_period_s=0.02, power_lag_s=0.0)
        all_gpus = [_AmdGpu(smi, h, i, cfg) for i, h in enumerate(handles)]
        if gpus is None:
            all_gpus = []
        elif gpus != "visible":
            wanted = [gpus] if isinstance(gpus, (int, str)) else list(gpus)
            all_gpus = [g for g in all_gpus if g.index in wanted or g.uuid in wanted]
        self.gpus = all_gpus
        self.counter_period_s = counter_period_s
        self.poll_period_s = power_period_s if self.gpus else None
        self._next_counter = 0.0

    def describe(self) -> list[str]:
        return [f"gpu:{g.index} {g.name} {g.uuid} ({'counter' if g.has_counter else 'sampled'})"
                for g in self.gpus]

    def _read(self, g: _AmdGpu, counter: bool) -> None:
        if g.timeline.lost_at is not None:
            return
        try:
            a = self.now()
            v = _energy_j(self.smi, g.h) if counter else _power_w(self.smi, g.h)
            t = (a + self.now()) / 2
        except self.smi.AmdSmiException as e:
            g.error = str(e)
            g.timeline.mark_lost(self.now())
            return
        (g.timeline.add_counter if counter else g.timeline.add_power)(t, v)

    def poll(self, now: float) -> None:
        counter_due = now >= self._next_counter
        if counter_due:
            self._next_counter = now + self.counter_period_s
        for g in self.gpus:
            self._read(g, counter=False)
            if counter_due and g.has_counter:
                self._read(g, counter=True)

    def mark(self, now: float, begin: Mark | None = None) -> Mark:
        return Mark(now)

    def energy(self, begin: Mark, end: Mark) -> BackendResult:
        comps, warns = [], []
        for g in self.gpus:
            r = g.timeline.resolve(begin.t, end.t)
            how = "amdsmi_get_energy_count" if g.has_counter else "amdsmi_get_power_info sampled"
            comps.append(ComponentEnergy(
                kind=Kind.GPU, name=g.name, energy_j=r.energy_j, method=r.method,
                uncertainty_j=r.uncertainty_j, source=self.source, index=g.index, uuid=g.uuid,
                detail=f"{how}; counter anchors {r.anchored_fraction:.0%}", samples=r.samples))
            if r.lost_at is not None and r.lost_at < end.t:
                warns.append(f"AMD GPU {g.index} ({g.uuid}) was lost {max(r.lost_at - begin.t, 0):.3f} s "
                             f"into window ({g.error}): energy counted up to the loss")
        return BackendResult(tuple(comps), tuple(warns))

    def keep_since(self, t: float) -> None:
        for g in self.gpus:
            g.timeline.prune(t - g.timeline.config.history_s)

    def close(self) -> None:
        try:
            self.smi.amdsmi_shut_down()
        except self.smi.AmdSmiException:
            pass  # the library already failed; nothing left to release
