"""The Meter: named windows (nested, overlapping) over a set of energy backends.

Edges are cheap: a timestamp, CUDA synchronised if torch is already imported and CUDA initialised (never
imported here), and each backend's mark (nothing for GPUs; a RAPL read; ``os.times()``). Energy is resolved
when the window's Measurement is built. One owned sampler thread (``wattprint-sampler``) feeds the GPU
timelines; tests pass ``sampler_thread=False`` with a ManualClock and call :meth:`poll`.
"""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from wattprint.core.clock import Clock, SystemClock
from wattprint.core.errors import ConfigError
from wattprint.meter import hooks
from wattprint.meter.backends.base import Backend, Mark
from wattprint.meter.result import ComponentEnergy, Measurement
from wattprint.meter.sampler import Poller, Sampler

PRUNE_PERIOD_S = 5.0
SETTLE_TIMEOUT_S = 0.4


@dataclass(frozen=True)
class _Window:
    name: str
    t0: float
    wall0: float
    marks: tuple[Mark, ...]


@dataclass(frozen=True)
class ClosedWindow:
    """A window whose end is stamped; resolve it with :meth:`Meter.measurement`."""

    window: _Window
    t1: float
    marks: tuple[Mark, ...]


def _check_name(name: object) -> None:
    if not isinstance(name, str) or not name:
        raise ConfigError(f"a window name must be a non-empty string, got {name!r}", fix='e.g. begin("request-1")')


def _positive_finite(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x > 0


def cuda_sync() -> None:
    """Wait for queued GPU work, only if this process already uses CUDA through torch."""
    torch = sys.modules.get("torch")
    if torch is None or not hasattr(torch, "cuda") or not torch.cuda.is_initialized():
        return
    for i in range(torch.cuda.device_count()):
        torch.cuda.synchronize(i)


class Meter:
    """Measures energy over named windows.

    ``gpus``: "visible" (the GPUs this process can use, via CUDA_VISIBLE_DEVICES and UUIDs), None (no
    GPU), or a list of NVML indices / "GPU-uuid" strings. ``cpu``: True (RAPL, else estimate), False,
    "rapl" (required) or "estimate". ``ram``: True / False / "machine". ``cpu_scope``: "process" (this
    process tree) or "machine". ``backends``: an explicit list (tests, injection) replacing discovery.
    ``counter_reads_per_s``: the sampler's GPU energy-counter read budget (default 0.5: a read costs ~3 ms of
    CPU on Hopper, docs/benchmarks/nvml_call_cost.md); it refills at 3x that rate, saved while no window is
    open and spent around windows' edges (docs/meter.md). More buys precision for
    short windows: at 10 (one read per 100 ms refresh, ~3% of a core) a window of 0.3 s or more ended
    with ``end(name, settle=True)`` is resolved from counter increments (method "counter").
    """

    def __init__(self, gpus: Any = "visible", cpu: Any = True, ram: Any = True, cpu_scope: str = "process",
                 backends: Sequence[Backend] | None = None, clock: Clock | None = None, *,
                 sampler_thread: bool = True, env: Mapping[str, str] | None = None,
                 counter_reads_per_s: float | None = None) -> None:
        if cpu_scope not in ("process", "machine"):
            raise ConfigError(f"cpu_scope={cpu_scope!r}: use 'process' or 'machine'")
        self.clock = clock or SystemClock()
        self.warnings: list[str] = []
        if counter_reads_per_s is not None and not _positive_finite(counter_reads_per_s):
            raise ConfigError(f"counter_reads_per_s={counter_reads_per_s!r}: use a positive number (reads/s)")
        if backends is None:
            from wattprint.meter import discover

            found = discover.build(gpus, cpu, ram, cpu_scope, self.clock, env,
                                   counter_reads_per_s=counter_reads_per_s)
            backends, self.warnings = found.backends, found.warnings
        elif counter_reads_per_s is not None:  # injected backends: those with a counter budget take it
            for b in backends:
                b.set_counter_reads_per_s(counter_reads_per_s)
        self.backends = list(backends)
        self.settings = {"gpus": gpus if isinstance(gpus, (str, type(None))) else list(gpus), "cpu": cpu,
                         "ram": ram, "cpu_scope": cpu_scope, "counter_reads_per_s": counter_reads_per_s}
        self._open: dict[str, _Window] = {}
        self._idle_w: dict[str, float] = {}
        self._idle_seconds = 0.0
        self._closed = False
        self.poll()
        pollers: list[tuple[float, Poller]] = [(b.poll_period_s, b.poll) for b in self.backends if b.poll_period_s]
        self._sampler = Sampler(pollers + [(PRUNE_PERIOD_S, self._prune)] if pollers else [], self.clock)
        for b in self.backends:  # a window edge may make its backend's poll due at once (never waits)
            if b.poll_period_s:
                b.set_waker(functools.partial(self._sampler.wake, b.poll))
        if sampler_thread:
            self._sampler.start()

    # ---- windows --------------------------------------------------------------------------------
    def begin(self, name: str) -> None:
        """Open window ``name`` (a non-empty string, not already open) on an open meter."""
        _check_name(name)
        self._check_open("begin")
        if name in self._open:
            raise ConfigError(f"window {name!r} is already open", fix="end it first, or use another name")
        cuda_sync()
        t = self.clock.monotonic()
        marks = tuple(b.mark(t) for b in self.backends)
        self._open[name] = _Window(name, t, self.clock.wall(), marks)

    def end(self, name: str, settle: bool = False, *, emit: bool = True) -> Measurement:
        """Close window ``name`` and return its Measurement (``emit=False``: the caller passes it to the window
        hooks itself, after adding to it, as ``measure()`` does with emissions).

        ``settle=True`` waits (up to ``SETTLE_TIMEOUT_S``; ~0.2-0.3 s on an H100) for the two counter readings
        that follow the window's end, so that a short window is resolved from counter increments
        rather than from instantaneous power. The window's end is stamped before waiting.
        """
        closed = self.close_window(name)
        if not settle:
            return self.measurement(closed, emit=emit)
        done = self.settle(closed.t1)
        note = ("settled: resolved after the counter reading that follows the window's end" if done else
                f"settle timed out ({SETTLE_TIMEOUT_S} s): resolved from the readings there were")
        return self._measurement(closed.window, closed.t1, closed.marks, note, emit=emit)

    def settle(self, t1: float) -> bool:
        """Wait (at most SETTLE_TIMEOUT_S) until the readings that follow time ``t1`` have arrived; True if
        they have."""
        deadline = self.clock.monotonic() + SETTLE_TIMEOUT_S
        while not all(b.settled(t1) for b in self.backends):
            if self.clock.monotonic() >= deadline:
                return False
            self.clock.sleep(0.01)
            if not self._sampler.running:
                self.poll()
        return True

    def close_window(self, name: str) -> ClosedWindow:
        """Stamp the end of window ``name`` (cheap); :meth:`measurement` resolves it, now or later."""
        _check_name(name)
        self._check_open("end")
        w = self._open.pop(name, None)
        if w is None:
            raise ConfigError(f"no open window {name!r}", fix=f"call begin({name!r}) first")
        cuda_sync()
        t = self.clock.monotonic()
        marks = tuple(b.mark(t, begin=m) for b, m in zip(self.backends, w.marks))
        return ClosedWindow(w, t, marks)

    def measurement(self, closed: ClosedWindow, *, emit: bool = True) -> Measurement:
        """The Measurement of a closed window, from the readings available now."""
        return self._measurement(closed.window, closed.t1, closed.marks, emit=emit)

    def _measurement(self, w: _Window, t1: float, marks: tuple[Mark, ...], settle_note: str = "", *,
                     emit: bool = True) -> Measurement:
        comps: list[ComponentEnergy] = []
        warns = list(self.warnings)
        for b, m0, m1 in zip(self.backends, w.marks, marks):
            r = b.energy(m0, m1)
            if settle_note and b.waits_for_readings:  # the result says whether it waited for its readings
                comps.extend(replace(c, detail=f"{c.detail}; {settle_note}") for c in r.components)
            else:
                comps.extend(r.components)
            warns.extend(r.warnings)
        if self._idle_w:
            comps = [replace(c, idle_power_w=self._idle_w.get(c.key)) for c in comps]
        warns.extend(f"sampler: {e}" for e in self._sampler.errors[:3])
        m = Measurement(name=w.name, started_at=w.wall0, duration_s=t1 - w.t0, components=tuple(comps),
                        idle_seconds=self._idle_seconds, warnings=tuple(dict.fromkeys(warns)))
        if emit:  # trackers registered with wattprint.meter.hooks see every window resolved here
            hooks.emit(m)
        return m

    def wait_ready(self, timeout_s: float = 1.0) -> bool:
        """Wait (at most ``timeout_s``) until every backend has its first readings; True when they have.

        For a long-lived service whose first request may come within milliseconds of start-up (the sampler
        first spends ~0.1-0.25 s finding each GPU counter's refresh phase). Without a sampler thread the
        caller's own polls do the work."""
        deadline = self.clock.monotonic() + timeout_s
        while not all(b.ready() for b in self.backends):
            if self.clock.monotonic() >= deadline:
                return False
            if self._sampler.running:
                self.clock.sleep(0.01)
            else:
                self.poll()
        return True

    def open_windows(self) -> list[str]:
        return list(self._open)

    # ---- idle baseline --------------------------------------------------------------------------
    def idle(self, seconds: float) -> Measurement:
        """Measure idle power for ``seconds`` (do nothing meanwhile); later results carry it per component."""
        if not _positive_finite(seconds):
            raise ConfigError(f"idle seconds must be a finite number > 0, got {seconds!r}",
                              fix="e.g. meter.idle(5.0)")
        name = "idle-baseline"
        self.begin(name)
        self.clock.sleep(seconds)
        m = self.end(name)
        self._idle_w = {c.key: c.energy_j / m.duration_s for c in m.components}
        self._idle_seconds = m.duration_s
        return replace(m, components=tuple(replace(c, idle_power_w=self._idle_w[c.key]) for c in m.components),
                       idle_seconds=m.duration_s)

    # ---- sampling & lifetime --------------------------------------------------------------------
    def poll(self, now: float | None = None) -> None:
        """Take one round of periodic readings now (the sampler thread does this on its own)."""
        now = self.clock.monotonic() if now is None else now
        for b in self.backends:
            if b.poll_period_s:
                b.poll(now)

    def _prune(self, now: float) -> None:
        oldest = min((w.t0 for w in list(self._open.values())), default=now)
        for b in self.backends:
            b.keep_since(oldest)

    def components(self) -> list[str]:
        return [line for b in self.backends for line in b.describe()]

    def sampler_cpu_share(self) -> float | None:
        """CPU time of the sampler thread over its lifetime, as a fraction of one core."""
        return self._sampler.cpu_share()

    def sampler_cpu_seconds(self) -> float | None:
        """CPU seconds the sampler thread has used so far (None if it never started). The share over a span is
        the difference of two readings over its wall time: :meth:`sampler_cpu_share` covers the whole life,
        start-up included (on an H100 the first search for the counter's refresh phase costs ~10-250 ms of CPU)."""
        return self._sampler.cpu_seconds()

    def _check_open(self, what: str) -> None:
        if self._closed:
            raise ConfigError(f"{what}() on a closed Meter", fix="create a new Meter (or close it only when done)")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._sampler.stop()
        for b in self.backends:
            b.close()

    def __enter__(self) -> Meter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # a forgotten meter must not leave its thread running
        if not getattr(self, "_closed", True) and hasattr(self, "_sampler"):
            self._sampler.stop(timeout=0.5)
