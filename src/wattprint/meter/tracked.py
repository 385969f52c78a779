"""What ``@track`` keeps: one Meter for every call of a function, and the running totals of its calls.

A call is one window on the shared meter, named after the function (``<name>#<n>`` for a call that starts while
another is running, so that calls from several threads can overlap); the meter's edges and the totals are
updated under one lock. With ``cpu_scope="process"`` overlapping calls each
see the whole process's CPU time, so their CPU energy overlaps too (the GPU's does as well): totals of concurrent
calls count shared energy more than once, which ``overlapping_calls`` makes visible.
"""

from __future__ import annotations

import atexit
import functools
import inspect
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from wattprint.core.errors import ConfigError
from wattprint.core.notebook import esc, notes, table
from wattprint.meter import hooks
from wattprint.meter.meter import Meter
from wattprint.meter.place import Carbon, log_fallbacks
from wattprint.meter.result import Measurement


class Tracker:
    """Calls, total and mean energy (J, with the summed uncertainty), emissions and the last Measurement of a
    tracked function. Read it as ``fn.wattprint``; :meth:`close` stops its meter (also done at exit)."""

    def __init__(self, name: str, meter_kwargs: dict[str, Any], *, idle_seconds: float = 0.0,
                 settle: bool = False, place: tuple[str | None, str | None, str | None] = (None, None, None),
                 meter: Meter | None = None) -> None:
        self.name = name
        self._given = meter  # the caller's meter: used, never closed here
        self.settle = settle
        self.idle_seconds = idle_seconds
        self.carbon = Carbon(*place)  # resolved now: a typo in the place fails at decoration, not mid-run
        self._meter_kwargs = meter_kwargs
        self._lock = threading.Lock()
        self._meter: Meter | None = None
        self._seq = 0
        self._running = 0
        self.calls = 0
        self.failed_calls = 0  # calls that raised (still measured and counted in the totals)
        self.overlapping_calls = 0  # calls that started while another was running
        self.total_energy_j = 0.0
        self.total_uncertainty_j = 0.0
        self.total_duration_s = 0.0
        self.total_gco2e: float | None = None if self.carbon.location is None else 0.0
        self.last: Measurement | None = None
        self.idle: Measurement | None = None

    # ---- figures --------------------------------------------------------------------------------
    @property
    def mean_energy_j(self) -> float | None:
        return self.total_energy_j / self.calls if self.calls else None

    @property
    def total_kg_co2e(self) -> float | None:
        return None if self.total_gco2e is None else self.total_gco2e / 1000.0

    @property
    def emissions_note(self) -> str | None:
        return self.carbon.note

    def to_dict(self) -> dict[str, Any]:
        with self._lock:
            return {"name": self.name, "calls": self.calls, "failed_calls": self.failed_calls,
                    "overlapping_calls": self.overlapping_calls, "total_energy_j": self.total_energy_j,
                    "total_uncertainty_j": self.total_uncertainty_j, "mean_energy_j": self.mean_energy_j,
                    "total_duration_s": self.total_duration_s, "total_gco2e": self.total_gco2e,
                    "emissions_note": self.emissions_note,
                    "last": None if self.last is None else self.last.to_dict()}

    def __repr__(self) -> str:
        mean = self.mean_energy_j
        return (f"<wattprint.track {self.name!r}: {self.calls} calls, {self.total_energy_j:.4g} J total"
                + (f", {mean:.4g} J per call" if mean is not None else "")
                + (f", {self.total_gco2e:.4g} gCO2e" if self.total_gco2e is not None else "") + ">")

    def _repr_html_(self) -> str:
        d = self.to_dict()
        rows = [(k, d[k]) for k in ("calls", "failed_calls", "overlapping_calls", "total_energy_j",
                                    "total_uncertainty_j", "mean_energy_j", "total_duration_s", "total_gco2e")]
        lines = [self.emissions_note] if self.emissions_note else []
        return f"<div><strong>@track {esc(self.name)}</strong>{table(('', 'value'), rows)}{notes(lines)}</div>"

    # ---- the calls ------------------------------------------------------------------------------
    def wrap(self, f: Callable[..., Any]) -> Any:
        """``f`` measured at each call; a coroutine function is measured until its coroutine finishes."""
        if inspect.isgeneratorfunction(f) or inspect.isasyncgenfunction(f):
            raise ConfigError(f"@track cannot measure the generator {f.__qualname__}: a call only creates it",
                              fix="track the function that consumes it, or use `with wattprint.measure(): ...`")
        if inspect.iscoroutinefunction(f):
            return self._wrap_async(f)

        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            window = self._begin()
            failed = True
            try:
                out = f(*args, **kwargs)
                failed = False
                return out
            finally:
                self._end(window, failed=failed, wrapper=wrapper)

        return self._attach(wrapper)

    def _wrap_async(self, f: Callable[..., Any]) -> Any:
        @functools.wraps(f)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            window = self._begin()
            failed = True
            try:
                out = await f(*args, **kwargs)
                failed = False
                return out
            finally:
                self._end(window, failed=failed, wrapper=wrapper)

        return self._attach(wrapper)

    def _attach(self, wrapper: Any) -> Any:
        """The wrapped function carries this tracker (``fn.wattprint``) and its last result."""
        wrapper.wattprint = self
        wrapper.last_result = None
        return wrapper

    def meter(self) -> Meter:
        """The shared meter (made, with its idle baseline, at the first call)."""
        with self._lock:
            return self._ensure_meter()

    def _ensure_meter(self) -> Meter:
        if self._meter is None:
            meter = self._given
            if meter is None:
                meter = Meter(**self._meter_kwargs)
                log_fallbacks(meter)
                atexit.register(self.close)
            if self.idle_seconds > 0:
                self.idle = meter.idle(self.idle_seconds)
            self._meter = meter
        return self._meter

    def _begin(self) -> str:
        with self._lock:
            meter = self._ensure_meter()
            self._seq += 1
            # the function's name, as window hooks (wattprint.meter.hooks) see it; a call overlapping another
            # needs a window of its own
            window = self.name if self.name not in meter.open_windows() else f"{self.name}#{self._seq}"
            self.overlapping_calls += self._running > 0
            self._running += 1
            meter.begin(window)
            return window

    def _end(self, window: str, *, failed: bool, wrapper: Any) -> None:
        with self._lock:
            self._running -= 1
            if self._meter is None:  # closed during the call: nothing left to measure it with
                return
            m = self._meter.end(window, settle=self.settle, emit=False)
            m = self.carbon.attach(replace(m, name=self.name))
            self.calls += 1
            self.failed_calls += failed
            self.total_energy_j += m.total_energy_j
            self.total_uncertainty_j += m.total_uncertainty_j
            self.total_duration_s += m.duration_s
            if self.total_gco2e is not None and m.emissions is not None:
                self.total_gco2e += m.emissions.gco2e
            self.last = m
            wrapper.last_result = m
        hooks.emit(m)  # outside the lock; the window hooks see the call under the function's name, with emissions

    def close(self) -> None:
        """Stop the meter's sampler (unless it was given); a later call makes a new meter (the totals are kept)."""
        with self._lock:
            if self._meter is not None and self._meter is not self._given:
                self._meter.close()
            self._meter = None
        atexit.unregister(self.close)

