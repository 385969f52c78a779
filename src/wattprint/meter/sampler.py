"""The meter's one owned sampler thread.

It exists because reading an H100's energy counter costs ~3.5 ms and the counter moves only every
~100 ms (docs/meter.md): window edges must not read it, so a named thread records each GPU's cheap
instantaneous power often and its counter rarely, and windows are resolved from that timeline. It also
samples GPUs that have no counter, and reads RAPL often enough that a counter wrap is never missed.
It sleeps on an Event (never busy-waits), is stopped by its owner, and is joined with a timeout.
A poller may return the delay (s) until it is next due, instead of its fixed period, so that a backend does
no work on ticks where nothing is due; ``wake(fn)`` makes poller ``fn`` due at once (a window edge asking for a
reading in its refresh interval).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from wattprint.core.clock import Clock

log = logging.getLogger(__name__)

# A poller takes the monotonic time and may return the delay (s) until it is next due (None: its period).
Poller = Callable[[float], float | None]


COALESCE_MIN_PERIOD_S = 0.5
COALESCE_FRACTION = 0.1


class Sampler:
    """Calls each poller at its period on one thread named ``wattprint-sampler``."""

    def __init__(self, pollers: Sequence[tuple[float, Poller]], clock: Clock,
                 name: str = "wattprint-sampler") -> None:
        self._pollers = [(float(p), fn) for p, fn in pollers]
        self._clock = clock
        self._name = name
        self._stop = threading.Event()
        self._event = threading.Event()  # set by stop() and wake()
        self._woken: set[int] = set()
        self._due: list[float] = []  # each poller's next due time, set when the schedule starts
        self.rounds = 0  # rounds run, one per wake-up of the thread (benchmarks: CPU per wake-up)
        self._thread: threading.Thread | None = None
        self._cpu_s = 0.0
        self._started_at: float | None = None
        self._stopped_at: float | None = None
        self.errors: list[str] = []

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self._thread is not None or not self._pollers:
            return
        self._started_at = time.perf_counter()
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def wake(self, fn: Poller) -> None:
        """Make poller ``fn`` due now (cheap: for window edges). Ignored if ``fn`` is not a poller."""
        for i, (_, f) in enumerate(self._pollers):
            if f == fn:
                self._woken.add(i)
                self._event.set()
                return

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._event.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("%s did not stop within %.1f s", self._name, timeout)
        self._stopped_at = time.perf_counter()

    def cpu_share(self) -> float | None:
        """The thread's CPU time over its wall time (fraction of one core), once it has run."""
        if self._started_at is None:
            return None
        end = self._stopped_at if self._stopped_at is not None else time.perf_counter()
        wall = end - self._started_at
        return self._cpu_s / wall if wall > 0 else None

    def cpu_seconds(self) -> float | None:
        """CPU seconds the thread has used so far (updated after each round of polls); None before it starts.
        Two readings give its share over a span of one's choice, e.g. without the start-up phase search."""
        return None if self._started_at is None else self._cpu_s

    def _run(self) -> None:
        self._due = [self._clock.monotonic() + p for p, _ in self._pollers]
        cpu0 = time.thread_time()
        while not self._stop.is_set():
            self._round()
            self._cpu_s = time.thread_time() - cpu0
            wait = min(self._due) - self._clock.monotonic()
            if wait > 0:
                self._event.wait(wait)
        self._cpu_s = time.thread_time() - cpu0

    def _round(self) -> None:
        """Call every poller that is due (or woken), and schedule its next call."""
        self._event.clear()
        woken, self._woken = self._woken, set()
        now = self._clock.monotonic()
        self.rounds += 1
        for i, (period, fn) in enumerate(self._pollers):
            # a slow poller (CPU/RAM estimates every 1 s, pruning every 5 s) rides along with a round that runs
            # up to a tenth of its period early rather than waking the thread on its own (a wake-up costs
            # ~0.1-0.3 ms of CPU on a VM)
            early = COALESCE_FRACTION * period if period >= COALESCE_MIN_PERIOD_S else 0.0
            if now >= self._due[i] - early or i in woken:
                nxt = self._call(fn, now)
                if isinstance(nxt, (int, float)) and nxt > 0:
                    self._due[i] = now + float(nxt)
                else:
                    self._due[i] = max(self._due[i] + period, now + period * 0.5)

    def step_until(self, t: float) -> int:
        """Without a thread, on a clock that ``advance``s (ManualClock): run the thread's schedule up to time
        ``t``, moving the clock to each due time (tests of the schedule itself). Returns the rounds run."""
        if self._thread is not None:
            raise RuntimeError("step_until is for a sampler without its thread")
        if not self._pollers:
            return 0
        if not self._due:
            self._due = [self._clock.monotonic() + p for p, _ in self._pollers]
        rounds = 0
        while True:
            now = self._clock.monotonic()
            if not self._woken:
                nxt = min(self._due)
                if nxt > t:
                    if t > now:
                        self._clock.advance(t - now)  # type: ignore[attr-defined]
                    return rounds
                if nxt > now:
                    self._clock.advance(nxt - now)  # type: ignore[attr-defined]
            self._round()
            rounds += 1

    def _call(self, fn: Callable[[float], object], now: float) -> object:
        try:
            return fn(now)
        except Exception as e:  # noqa: BLE001 - a poller must never kill the thread; the error is kept
            msg = f"{type(e).__name__}: {e}"
            if len(self.errors) < 20:
                self.errors.append(msg)
            log.warning("sampler poll failed: %s", msg)
            return None
