"""Window hooks: callbacks called with the Measurement of every window any Meter closes.

A tracker (MLflow, W&B, TensorBoard, a log line) registers a callback once and sees every window from then on.
A callback that raises is logged (logger ``wattprint.meter.hooks``) and never breaks the measurement: the
window's Measurement is returned to its caller either way. Callbacks run in the thread that closed the window,
in the order they were registered.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from wattprint.meter.result import Measurement

Callback = Callable[["Measurement"], object]

log = logging.getLogger(__name__)
_lock = threading.Lock()
_callbacks: list[Callback] = []


def register(callback: Callback) -> Callback:
    """Call ``callback(measurement)`` for every window closed from now on; returns ``callback`` (so it can
    decorate a function). Registering the same callback twice calls it once."""
    if not callable(callback):
        from wattprint.core.errors import ConfigError

        raise ConfigError(f"a window hook must be callable, got {callback!r}",
                          fix="pass a function that takes one Measurement")
    with _lock:
        if callback not in _callbacks:
            _callbacks.append(callback)
    return callback


def unregister(callback: Callback) -> bool:
    """Stop calling ``callback``; True if it was registered."""
    with _lock:
        if callback in _callbacks:
            _callbacks.remove(callback)
            return True
    return False


def registered() -> list[Callback]:
    """The callbacks now registered, in call order."""
    with _lock:
        return list(_callbacks)


@contextmanager
def hooked(callback: Callback) -> Iterator[Callback]:
    """``with hooked(fn): ...``: ``fn`` sees the windows closed inside the block only."""
    register(callback)
    try:
        yield callback
    finally:
        unregister(callback)


def emit(measurement: Measurement) -> None:
    """Call every registered callback with ``measurement``; an exception in one is logged, never raised."""
    for callback in registered():
        try:
            callback(measurement)
        except Exception as e:  # a tracker's failure must not lose the measurement it was given
            name = getattr(callback, "__qualname__", repr(callback))
            log.warning("window hook %s failed on window %r: %s: %s", name, measurement.name, type(e).__name__, e)
            log.debug("window hook %s traceback", name, exc_info=True)
