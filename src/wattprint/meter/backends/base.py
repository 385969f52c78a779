"""The narrow interface every energy backend implements, and what a probe of one reports.

A backend measures one or more components. The meter asks it for a cheap ``mark`` at each window edge
(a timestamp and, for edge-read counters, a reading), and for the energy between two marks when the
window's Measurement is built. Backends that need periodic readings (GPU timelines, RAPL wrap tracking)
say so with ``poll_period_s``; the meter's one owned sampler thread calls ``poll``. Each energy source is one
entry of ``wattprint.meter.sources.SOURCES``: its factory and its ``wattprint doctor`` probe.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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


class Backend(abc.ABC):
    """An energy source: the contract between the Meter and a piece of hardware (or an estimate).

    Implement the three abstract methods; every other method has a default that is right for a source
    that needs no periodic readings (a counter read at each edge, or an estimate from process statistics).
    ``docs/adding-a-backend.md`` walks through writing one.

    ``source`` names it ("nvml", "rapl", ...). ``poll_period_s`` is None when it needs no periodic
    readings; otherwise the Meter's one sampler thread calls :meth:`poll` about that often.
    ``waits_for_readings`` is True for a source whose readings describing an instant arrive after it (a GPU
    counter that refreshes every 100 ms): ``Meter.end(settle=True)`` then waits for :meth:`settled`.
    """

    source: str = ""
    poll_period_s: float | None = None
    waits_for_readings: bool = False

    @abc.abstractmethod
    def describe(self) -> list[str]:
        """One line per component it measures (for ``Meter.components()`` and ``wattprint doctor``)."""

    @abc.abstractmethod
    def mark(self, now: float, begin: Mark | None = None) -> Mark:
        """A cheap edge mark at monotonic time ``now`` (s); ``begin`` is the window's first mark at its end,
        None at its beginning. Must not block: the edge of a 10 ms window costs microseconds."""

    @abc.abstractmethod
    def energy(self, begin: Mark, end: Mark) -> BackendResult:
        """Energy per component (J, with method and uncertainty) between two marks of one window."""

    def poll(self, now: float) -> float | None:
        """Take periodic readings (the sampler thread calls it, and the Meter once at start). Returns the
        delay (s) until the next poll is due, or None for ``poll_period_s``."""
        return None

    def keep_since(self, t: float) -> None:
        """Readings before monotonic time ``t`` are no longer needed by any open window (free them)."""

    def ready(self) -> bool:
        """Whether the first readings are in (``Meter.wait_ready``)."""
        return True

    def settled(self, t: float) -> bool:
        """Whether the readings that describe time ``t`` have arrived (see ``waits_for_readings``)."""
        return True

    def set_waker(self, wake: Callable[[], None]) -> None:
        """``wake()`` makes the sampler call :meth:`poll` at once; a backend whose edges want a reading soon
        keeps it (the Meter gives it to every backend with a ``poll_period_s``)."""

    def set_counter_reads_per_s(self, reads_per_s: float) -> None:
        """The energy-counter read budget (``Meter(counter_reads_per_s=...)``); sources without one ignore it."""

    def close(self) -> None:
        """Release the device library or files; called once by the Meter."""
