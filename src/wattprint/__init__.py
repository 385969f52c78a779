"""wattprint: measure what AI inference costs the planet.

Importing this package is free: it initialises no driver, starts no thread, opens no socket and
imports no torch, numpy or pandas. The public names below are resolved lazily on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wattprint._version import __version__

__all__ = [
    "__version__",
    "measure",
    "track",
    "Meter",
    "Measurement",
    "ComponentEnergy",
    "Method",
    "WattprintError",
    "runs_frame",
    "sweep_frame",
    "store_summary",
]

_LAZY = {
    "measure": "wattprint.meter.api",
    "track": "wattprint.meter.api",
    "Meter": "wattprint.meter.meter",
    "Measurement": "wattprint.meter.result",
    "ComponentEnergy": "wattprint.meter.result",
    "Method": "wattprint.meter.result",
    "WattprintError": "wattprint.core.errors",
    "runs_frame": "wattprint.store.frames",  # pandas is imported when one of these is called, not before
    "sweep_frame": "wattprint.store.frames",
    "store_summary": "wattprint.store.frames",
}

if TYPE_CHECKING:  # pragma: no cover
    from wattprint.core.errors import WattprintError
    from wattprint.meter.api import measure, track
    from wattprint.meter.meter import Meter
    from wattprint.meter.result import ComponentEnergy, Measurement, Method
    from wattprint.store.frames import runs_frame, store_summary, sweep_frame


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'wattprint' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
