"""docs/adding-a-backend.md, done the way a contributor would: a new energy source, written against the Backend
contract, checked against a simulated card, registered as a source, and found by doctor and a default Meter.

The source here is a board power rail exposed as a file holding milliwatts (as Jetson modules expose their
INA3221 rails under /sys): the backend samples it and integrates, so its method is "sampled".
"""

from __future__ import annotations

import bisect
import threading
from pathlib import Path
from types import MappingProxyType

import pytest

from wattprint.core.clock import ManualClock
from wattprint.core.errors import BackendUnavailable
from wattprint.meter import discover, sources
from wattprint.meter.backends.base import Backend, BackendResult, Mark, Probe
from wattprint.meter.meter import Meter
from wattprint.meter.result import ComponentEnergy, Kind, Method
from wattprint.meter.sim.drive import drive
from wattprint.meter.sim.traces import Square, Steps

FIX = "point WATTPRINT_RAIL at the rail's power file (milliwatts), e.g. /sys/bus/i2c/.../in_power0_input"


class RailBackend(Backend):
    """Step 1: the backend. Polls the rail's file every ``period_s`` and integrates the readings, each held
    until the next (the file changes when the load does)."""

    source = "rail"

    def __init__(self, path: Path, period_s: float = 0.02) -> None:
        if not path.is_file():
            raise BackendUnavailable(f"no power rail file at {path}", fix=FIX)
        self.path = path
        self.poll_period_s = period_s
        self._lock = threading.Lock()  # the sampler thread appends while a window's end reads
        self._t: list[float] = []
        self._w: list[float] = []

    def describe(self) -> list[str]:
        return [f"gpu:0 board rail {self.path} (sampled every {self.poll_period_s * 1000:.0f} ms)"]

    def poll(self, now: float) -> None:
        watts = int(self.path.read_text()) / 1000.0
        with self._lock:
            self._t.append(now)
            self._w.append(watts)

    def mark(self, now: float, begin: Mark | None = None) -> Mark:
        return Mark(now)  # edges read nothing: the samples around them are in the timeline

    def energy(self, begin: Mark, end: Mark) -> BackendResult:
        with self._lock:
            i = max(bisect.bisect_right(self._t, begin.t) - 1, 0)
            j = bisect.bisect_right(self._t, end.t)
            ts, ws = self._t[i:j], self._w[i:j]
        energy = bound = 0.0
        for k, (t, w) in enumerate(zip(ts, ws)):
            a = max(t, begin.t)
            b = min(ts[k + 1] if k + 1 < len(ts) else end.t, end.t)
            energy += w * max(b - a, 0.0)
            # the load may have changed anywhere between two samples: at most the step between them, all along
            step = abs(ws[k + 1] - w) if k + 1 < len(ws) else 0.0
            bound += step * max(b - a, 0.0)
        comp = ComponentEnergy(kind=Kind.GPU, name="board rail", energy_j=energy, method=Method.SAMPLED,
                               uncertainty_j=bound, source=self.source, index=0, scope="device",
                               detail=f"{self.path} every {self.poll_period_s * 1000:.0f} ms, held and summed",
                               samples=len(ts))
        return BackendResult((comp,))

    def keep_since(self, t: float) -> None:
        with self._lock:
            i = max(bisect.bisect_left(self._t, t) - 1, 0)
            del self._t[:i], self._w[:i]


class RailFile:
    """Step 2: the simulated hardware: the rail's file rewritten as the load changes (``drive`` calls update)."""

    def __init__(self, path: Path, trace: Square | Steps) -> None:
        self.path, self.trace = path, trace

    def update(self, t: float) -> None:
        self.path.write_text(str(round(self.trace.power(t) * 1000)))


def probe_rail(path: Path) -> Probe:
    """Step 3: the doctor probe: never raises, says why not and how to fix."""
    try:
        b = RailBackend(path)
    except BackendUnavailable as e:
        return Probe("rail", False, reason=e.message, fix=e.fix or "", method="sampled")
    return Probe("rail", True, tuple(b.describe()), method="sampled", used=True, reason="board power rail")


@pytest.mark.parametrize("trace", [Square(high=40.0, low=9.0, period=0.8, duty=0.5),
                                   Steps([(0.0, 7.0), (1002.0, 31.0), (1004.5, 12.0)])])
def test_the_new_backend_meets_the_contract(trace, tmp_path):
    clock = ManualClock(start=1000.0)
    rail = RailFile(tmp_path / "in_power0_input", trace)
    rail.update(clock.monotonic())
    meter = Meter(backends=[RailBackend(rail.path)], clock=clock, sampler_thread=False)
    drive(meter, clock, 0.5, hw=rail)
    for length in (0.3, 2.0, 5.3):
        t0 = clock.monotonic()
        meter.begin("w")
        drive(meter, clock, length, step=0.02, hw=rail)
        (c,) = meter.end("w").components
        true = trace.energy(t0, t0 + length)
        assert c.energy_j == pytest.approx(true, rel=0.03), (length, c)
        assert abs(c.energy_j - true) <= c.uncertainty_j + 1e-9, (length, c)
        assert c.method == Method.SAMPLED and c.samples and c.samples >= length / 0.02
    meter.close()


def test_registered_source_is_found_by_doctor_and_a_default_meter(tmp_path, monkeypatch):
    path = tmp_path / "in_power0_input"

    def build(ctx: sources.BuildContext) -> Backend:
        return RailBackend(path)

    # Step 4: one entry in the registry (a contributor adds it to SOURCES in meter/sources.py)
    entry = sources.Source("rail", "gpu", build, lambda env, root: probe_rail(path))
    monkeypatch.setattr(sources, "SOURCES", MappingProxyType({**sources.SOURCES, "rail": entry}))

    missing = next(p for p in discover.probes(env={}) if p.source == "rail")
    assert not missing.available and missing.fix == FIX
    meter = Meter(gpus="visible", cpu=False, ram=False, clock=ManualClock(start=0.0), sampler_thread=False,
                  env={})  # the file is not there yet: the default meter carries on without it
    assert not any(isinstance(b, RailBackend) for b in meter.backends)
    meter.close()

    RailFile(path, Steps([(0.0, 15.0)])).update(0.0)
    found = next(p for p in discover.probes(env={}) if p.source == "rail")
    assert found.available and found.components == ("gpu:0 board rail " + str(path) + " (sampled every 20 ms)",)
    clock = ManualClock(start=0.0)
    meter = Meter(gpus="visible", cpu=False, ram=False, clock=clock, sampler_thread=False, env={})
    (rail,) = [b for b in meter.backends if isinstance(b, RailBackend)]
    meter.begin("w")
    drive(meter, clock, 1.0)
    (c,) = meter.end("w").components
    assert c.source == "rail" and c.energy_j == pytest.approx(15.0, rel=1e-6)
    meter.close()
