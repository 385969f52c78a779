"""Consecutive meter intervals on top of the public Meter API (``begin``/``end`` windows).

The next window is begun *before* the previous one ends, so that no energy falls between two intervals;
the two windows overlap only for the microseconds between the two calls (the meter's window edges take a
timestamp; the energy is resolved from its timeline when ``end`` builds the Measurement).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wattprint.core.clock import Clock, SystemClock
from wattprint.serve.attribution import Interval


def interval_from_measurement(m: Any, t0: float, t1: float,
                              idle_override_w: Mapping[str, float] | None = None) -> Interval:
    """An :class:`Interval` from a :class:`wattprint.meter.result.Measurement` spanning ``[t0, t1)``."""
    energy: dict[str, float] = {}
    idle: dict[str, float] = {}
    kinds: dict[str, str] = {}
    methods: dict[str, str] = {}
    for c in m.components:
        key = c.key
        energy[key] = energy.get(key, 0.0) + float(c.energy_j)
        kinds[key] = str(c.kind)
        methods[key] = str(c.method)
        power = (idle_override_w or {}).get(key, c.idle_power_w)
        if power is not None:
            idle[key] = float(power)
    return Interval(t0=t0, t1=t1, energy_j=energy, idle_w=idle, kinds=kinds, methods=methods)


class MeterIntervals:
    """Cuts a running Meter into consecutive intervals: ``start()`` once, then ``cut()`` at each tick.

    ``idle_power_w`` (component key -> W) is used for components whose Measurement carries no baseline
    (the meter's own ``idle()`` baseline takes precedence when present).
    """

    def __init__(self, meter: Any, clock: Clock | None = None,
                 idle_power_w: Mapping[str, float] | None = None, prefix: str = "wattprint-serve") -> None:
        self.meter = meter
        self.clock = clock or SystemClock()
        self.idle_power_w = dict(idle_power_w or {})
        self._prefix = prefix
        self._n = 0
        self._t0: float | None = None

    def _name(self) -> str:
        return f"{self._prefix}-{self._n}"

    def start(self) -> float:
        """Open the first window; returns its start (monotonic seconds).

        Waits first (at most 1 s; ~0.1-0.25 s on an H100) for the meter's first readings: its
        sampler begins by finding the counter's refresh phase, and a request answered before any reading
        would get a receipt of 0 J."""
        wait_ready = getattr(self.meter, "wait_ready", None)
        if wait_ready is not None:
            wait_ready()
        self._t0 = self.clock.monotonic()
        self.meter.begin(self._name())
        return self._t0

    def cut(self) -> Interval:
        """Close the current window and open the next; returns what the closed one measured."""
        if self._t0 is None:
            raise RuntimeError("MeterIntervals.cut() before start()")
        prev = self._name()
        t1 = self.clock.monotonic()
        self._n += 1
        self.meter.begin(self._name())
        measurement = self.meter.end(prev)
        interval = interval_from_measurement(measurement, self._t0, t1, self.idle_power_w)
        self._t0 = t1
        return interval

    def stop(self) -> Interval | None:
        """Close the current window without opening another; returns its interval."""
        if self._t0 is None:
            return None
        t1 = self.clock.monotonic()
        measurement = self.meter.end(self._name())
        interval = interval_from_measurement(measurement, self._t0, t1, self.idle_power_w)
        self._t0 = None
        return interval
