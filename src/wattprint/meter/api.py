"""The short ways in: ``with measure(...) as m: ...; m.result`` and the ``@track`` decorator.

Both read the ``[meter]`` settings (``WATTPRINT_*`` variables, config file; :mod:`wattprint.core.config`) for
what the call does not say, and carry emissions when a place is set (``country=``/``region=``/``cloud=``,
``WATTPRINT_COUNTRY``..., or ``[carbon]`` in the config file); without one, ``emissions`` is None and
``emissions_note`` says why. The place is resolved before the measured code runs, so a typo fails first.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar

from wattprint.core.config import resolve
from wattprint.core.errors import ConfigError
from wattprint.meter import hooks
from wattprint.meter.meter import Meter
from wattprint.meter.place import Carbon, log_fallbacks
from wattprint.meter.result import Measurement

F = TypeVar("F", bound=Callable[..., Any])

METER_KEYS = ("gpus", "cpu", "ram", "cpu_scope", "counter_reads_per_s")
_UNSET: Any = object()


def _check_idle(idle_seconds: Any) -> float:
    ok = isinstance(idle_seconds, (int, float)) and not isinstance(idle_seconds, bool)
    if not ok or not math.isfinite(idle_seconds) or idle_seconds < 0:
        raise ConfigError(f"idle_seconds must be a finite number >= 0, got {idle_seconds!r}",
                          fix="e.g. measure(idle_seconds=5) (0: no idle baseline)")
    return float(idle_seconds)


def meter_settings(idle_seconds: Any, meter_kwargs: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    """(idle seconds, Meter keyword arguments): the caller's, then ``[meter]`` settings for what it left out."""
    settings = resolve("meter")
    idle = settings["idle_seconds"] if idle_seconds is _UNSET else _check_idle(idle_seconds)
    kwargs = {k: settings[k] for k in METER_KEYS if k not in meter_kwargs and k in settings.values}
    return idle, kwargs | meter_kwargs


class measure:  # noqa: N801 - used as a function: `with measure(): ...`
    """Measure a block. ``idle_seconds`` > 0 measures an idle baseline first; ``meter`` reuses a Meter
    (not closed at the end); other keyword arguments go to :class:`Meter`. The result is set even when
    the block raises (the exception still propagates). ``settle`` (default True): the block's end waits
    (~0.2-0.3 s) for the GPU counter readings that follow it, so a short block is resolved from counter
    increments; each GPU component's ``detail`` says whether it settled. ``country``/``region``/``cloud``
    set the place for ``emissions`` (else the environment or config file does; else there are none)."""

    def __init__(self, name: str = "measure", idle_seconds: float = _UNSET, meter: Meter | None = None,
                 settle: bool = True, *, country: str | None = None, region: str | None = None,
                 cloud: str | None = None, **meter_kwargs: Any) -> None:
        if not isinstance(name, str) or not name:
            raise ConfigError(f"measure(name=...) must be a non-empty string, got {name!r}")
        self.name = name
        self.settle = settle
        self.idle_seconds, self._kwargs = meter_settings(idle_seconds, meter_kwargs if meter is None else {})
        self._given = meter
        self.carbon = Carbon(country, region, cloud)
        self.meter: Meter | None = None
        self.result: Measurement | None = None
        self.idle: Measurement | None = None

    @property
    def emissions(self) -> Any:
        """The result's :class:`~wattprint.carbon.accounting.Emissions` (gCO2e, intensity and its source,
        PUE), or None: no place set (see :attr:`emissions_note`), or the block has not ended."""
        return None if self.result is None else self.result.emissions

    @property
    def kg_co2e(self) -> float | None:
        e = self.emissions
        return None if e is None else e.kgco2e

    @property
    def emissions_note(self) -> str | None:
        """Why there are no emissions (None when there are, or will be at the block's end)."""
        return self.carbon.note

    def __enter__(self) -> measure:
        if self._given is None:
            self.meter = Meter(**self._kwargs)
            log_fallbacks(self.meter)
        else:
            self.meter = self._given
        try:
            if self.idle_seconds > 0:
                self.idle = self.meter.idle(self.idle_seconds)
            self.meter.begin(self.name)
        except BaseException:
            self._close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            assert self.meter is not None
            self.result = self.carbon.attach(self.meter.end(self.name, settle=self.settle, emit=False))
            hooks.emit(self.result)  # the window hooks see the result with its emissions
        finally:
            self._close()

    def _close(self) -> None:
        if self._given is None and self.meter is not None:
            self.meter.close()


def track(fn: F | None = None, *, name: str | None = None, idle_seconds: float = _UNSET, settle: bool = False,
          country: str | None = None, region: str | None = None, cloud: str | None = None,
          meter: Meter | None = None, **meter_kwargs: Any) -> Any:
    """Decorator: every call is measured with one Meter, made at the first call and kept.

    ``@track`` or ``@track(name="step", gpus=None, country="FR")``. The return value is unchanged. What was
    measured is ``fn.wattprint`` (a :class:`~wattprint.meter.tracked.Tracker`: calls, total and mean energy,
    emissions, the last Measurement; thread-safe); ``fn.last_result`` is the last Measurement too. An idle
    baseline (``idle_seconds``) is measured once, before the first call. Calls do not wait for the GPU counter at
    their end (``settle=False``: a tracked function may be called often) unless ``settle=True``. ``meter=`` uses
    your Meter instead (never closed by the tracker); other keyword arguments go to :class:`Meter`.
    """
    from wattprint.meter.tracked import Tracker

    idle, kwargs = meter_settings(idle_seconds, meter_kwargs)

    def wrap(f: F) -> F:
        tracker = Tracker(name or f.__qualname__, kwargs, idle_seconds=idle, settle=settle,
                          place=(country, region, cloud), meter=meter)
        return tracker.wrap(f)

    return wrap(fn) if fn is not None else wrap
