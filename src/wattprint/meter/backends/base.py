"""The narrow interface every energy backend implements, and what a probe of one reports.

A backend measures one or more components. The meter asks it for a cheap ``mark`` at each window edge
(a timestamp and, for edge-read counters, a reading), and for the energy between two marks when the
window's Measurement is built. Backends that need periodic readings (GPU timelines, RAPL wrap tracking)
say so with ``poll_period_s``; the meter's one owned sampler thread calls ``poll``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from wattprint.meter.result import ComponentEnergy


@dataclass(frozen=True)
class Mark:
    """What a backend took at a window edge: the time, and whatever state it needs (opaque)."""

    t: float
    state: Any = None


@dataclass(frozen=True)
class BackendResult:
    components: tuple[ComponentEnergy, ...]
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Probe:
    """One energy source as ``wattprint doctor`` shows it: available or not, why, how to fix."""

    source: str  # "nvml", "rapl", "cpu-estimate", ...
    available: bool
    components: tuple[str, ...] = ()  # what it would measure ("gpu:0 NVIDIA H100 (counter)")
    reason: str = ""  # why not, or what it reads
    fix: str = ""  # how to make it available (or better)
    method: str = ""  # counter / sampled / estimated
    used: bool = False  # whether a default Meter uses it
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "available": self.available, "used": self.used,
            "method": self.method, "components": list(self.components), "reason": self.reason,
            "fix": self.fix, "details": self.details,
        }


@runtime_checkable
class Backend(Protocol):
    """An energy source. ``poll_period_s`` is None when it needs no periodic readings."""

    source: str
    poll_period_s: float | None

    def describe(self) -> list[str]:
        """One line per component it measures (for ``Meter.components()``)."""

    def poll(self, now: float) -> None:
        """Take periodic readings (called by the sampler thread, and once at start)."""

    def mark(self, now: float, begin: Mark | None = None) -> Mark:
        """A cheap edge mark; ``begin`` is given at a window's end (None at its beginning)."""

    def energy(self, begin: Mark, end: Mark) -> BackendResult:
        """Energy per component between two marks."""

    def keep_since(self, t: float) -> None:
        """Samples before ``t`` are no longer needed by any open window."""

    def close(self) -> None:
        """Release the device library or files."""
