"""Meter windows as the runner opens them: the phases of a batch, device synchronisation, open-window cleanup.

On a GPU, work is asynchronous: a window must not end before the device has finished the work it
launched, so every window edge is preceded by a device synchronisation. The time spent inside the
meter's own begin/end calls is counted (``edge_s``) so that it is charged to the harness, not the model.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any


def device_sync(device: str) -> Callable[[], None]:
    """A function that waits for ``device`` to finish its queued work (a no-op on the CPU)."""
    if device.startswith("cuda"):
        import torch

        index = torch.device(device).index
        return lambda: torch.cuda.synchronize(index)
    return lambda: None


def energy_by_kind(m: Any) -> dict[str, float]:
    """A Measurement's energy per component kind (J): GPU, CPU, and RAM (DRAM counted as RAM)."""
    return {"gpu": m.energy_j("gpu"), "cpu": m.energy_j("cpu"), "ram": m.energy_j("ram") + m.energy_j("dram")}


class MeterPhases:
    """The :class:`~wattprint.tasks.base.Phases` a task gets in a measured batch.

    Each ``begin(name)``/``end(name)`` pair is one meter window nested in the repeat window; energy and
    duration add up per phase name over all batches of the repeat.
    """

    def __init__(self, meter: Any, prefix: str, sync: Callable[[], None]) -> None:
        self._meter = meter
        self._prefix = prefix
        self._sync = sync
        self._open: dict[str, str] = {}
        self._count = 0
        self.energy_j: dict[str, float] = defaultdict(float)
        self.by_kind: dict[str, dict[str, float]] = {}  # phase -> {"gpu", "cpu", "ram"} -> J
        self.duration_s: dict[str, float] = defaultdict(float)
        self.warnings: list[str] = []
        self.edge_s = 0.0  # seconds spent in the meter's begin/end calls: harness time

    def begin(self, name: str) -> None:
        if name in self._open:
            raise RuntimeError(f"phase {name!r} begun twice without end")
        self._sync()
        self._count += 1
        window = f"{self._prefix}.{name}.{self._count}"
        t0 = time.perf_counter()
        self._meter.begin(window)
        self.edge_s += time.perf_counter() - t0
        self._open[name] = window

    def end(self, name: str) -> None:
        window = self._open.pop(name, None)
        if window is None:
            raise RuntimeError(f"phase {name!r} ended without begin")
        self._sync()
        t0 = time.perf_counter()
        m = self._meter.end(window)
        self.edge_s += time.perf_counter() - t0
        self.energy_j[name] += m.total_energy_j
        kinds = self.by_kind.setdefault(name, {"gpu": 0.0, "cpu": 0.0, "ram": 0.0})
        for kind, joules in energy_by_kind(m).items():
            kinds[kind] += joules
        self.duration_s[name] += m.duration_s
        for w in m.warnings:
            if w not in self.warnings:
                self.warnings.append(w)

    def close_open(self) -> None:
        """End windows a failed batch left open (their energy is dropped: the repeat failed)."""
        while self._open:
            _, window = self._open.popitem()
            self._meter.end(window)


class BatchWindows:
    """Optional per-batch meter windows (``batch_windows`` setting): the energy of each batch.

    Their edges sit outside the timed model call, so their cost is charged to the harness.
    """

    def __init__(self, meter: Any, prefix: str, enabled: bool) -> None:
        self._meter, self._prefix, self.enabled = meter, prefix, enabled
        self._open: str | None = None
        self.energy_j: list[float] = []
        self.edge_s = 0.0

    def begin(self, index: int) -> None:
        if not self.enabled:
            return
        t0 = time.perf_counter()
        self._open = f"{self._prefix}.batch{index}"
        self._meter.begin(self._open)
        self.edge_s += time.perf_counter() - t0

    def end(self) -> None:
        if self._open is None:
            return
        t0 = time.perf_counter()
        m = self._meter.end(self._open)
        self._open = None
        self.edge_s += time.perf_counter() - t0
        self.energy_j.append(m.total_energy_j)

    def close_open(self) -> None:
        if self._open is not None:
            self._meter.end(self._open)
            self._open = None


class OpenWindow:
    """A meter window that is ended on the way out even if the code inside raises.

    ``result`` is the Measurement when the body finished normally; on an exception the window is
    ended and its result dropped, and the exception goes on. ``settle=True`` waits (a refresh or two) for the
    GPU counter reading after the window's end, so that the window is resolved from counter increments.
    """

    def __init__(self, meter: Any, name: str, sync: Callable[[], None], settle: bool = False) -> None:
        self._meter, self._name, self._sync, self._settle = meter, name, sync, settle
        self.result: Any = None
        self._ended = False

    def __enter__(self) -> OpenWindow:
        self._meter.begin(self._name)
        return self

    def end(self) -> Any:
        self._sync()
        self.result = self._meter.end(self._name, settle=self._settle)
        self._ended = True
        return self.result

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if not self._ended:
            if exc_type is None:
                self.end()
            else:
                self._meter.end(self._name)
                self._ended = True
