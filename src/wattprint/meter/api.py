"""The short ways in: ``with measure(...) as m: ...; m.result`` and the ``@track`` decorator."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, TypeVar

from wattprint.core.errors import ConfigError
from wattprint.meter.meter import Meter
from wattprint.meter.result import Measurement

F = TypeVar("F", bound=Callable[..., Any])


class measure:  # noqa: N801 - used as a function: `with measure(): ...`
    """Measure a block. ``idle_seconds`` > 0 measures an idle baseline first; ``meter`` reuses a Meter
    (not closed at the end); other keyword arguments go to :class:`Meter`. The result is set even when
    the block raises (the exception still propagates). ``settle`` (default True): the block's end waits
    (~0.2-0.3 s) for the GPU counter readings that follow it, so a short block is resolved from counter
    increments; each GPU component's ``detail`` says whether it settled."""

    def __init__(self, name: str = "measure", idle_seconds: float = 0.0, meter: Meter | None = None,
                 settle: bool = True, **meter_kwargs: Any) -> None:
        if not isinstance(name, str) or not name:
            raise ConfigError(f"measure(name=...) must be a non-empty string, got {name!r}")
        ok = isinstance(idle_seconds, (int, float)) and not isinstance(idle_seconds, bool)
        if not ok or not math.isfinite(idle_seconds) or idle_seconds < 0:
            raise ConfigError(f"idle_seconds must be a finite number >= 0, got {idle_seconds!r}",
                              fix="e.g. measure(idle_seconds=5) (0: no idle baseline)")
        self.name = name
        self.settle = settle
        self.idle_seconds = idle_seconds
        self._given = meter
        self._kwargs = meter_kwargs
        self.meter: Meter | None = None
        self.result: Measurement | None = None
        self.idle: Measurement | None = None

    def __enter__(self) -> measure:
        self.meter = self._given or Meter(**self._kwargs)
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
            self.result = self.meter.end(self.name, settle=self.settle)
        finally:
            self._close()

    def _close(self) -> None:
        if self._given is None and self.meter is not None:
            self.meter.close()


def track(fn: F | None = None, *, name: str | None = None, **meter_kwargs: Any) -> Any:
    """Decorator: each call is measured; the latest Measurement is ``wrapper.last_result``.

    ``@track`` or ``@track(name="step", gpus=None)``. The function's return value is unchanged. Calls do
    not wait for the GPU counter at their end (``settle=False``, a tracked function may be called often)
    unless ``settle=True`` is passed.
    """
    meter_kwargs.setdefault("settle", False)

    def wrap(f: F) -> F:
        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            m = measure(name=name or f.__qualname__, **meter_kwargs)
            try:
                with m:
                    return f(*args, **kwargs)
            finally:
                wrapper.last_result = m.result  # type: ignore[attr-defined]

        wrapper.last_result = None  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return wrap(fn) if fn is not None else wrap

