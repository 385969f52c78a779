"""Drive a Meter on a ManualClock as its sampler thread would (for tests with simulated hardware)."""

from __future__ import annotations

from typing import Any

from wattprint.core.clock import ManualClock


def drive(meter: Any, clock: ManualClock, seconds: float, step: float = 0.02, hw: Any = None) -> None:
    """Advance ``clock`` by ``seconds`` in steps of about ``step``, updating ``hw`` (e.g. a PowercapTree)
    and polling the meter after each step."""
    step = min(step, seconds)
    n = max(int(round(seconds / step)), 1)
    for _ in range(n):
        clock.advance(seconds / n)
        if hw is not None:
            hw.update(clock.monotonic())
        meter.poll()


def drive_scheduled(meter: Any, clock: ManualClock, seconds: float) -> int:
    """Advance ``clock`` by ``seconds`` running the meter's sampler schedule as its thread would (each poller
    when it says it is next due, woken pollers at once), without the thread. Returns the rounds run."""
    return meter._sampler.step_until(clock.monotonic() + seconds)
