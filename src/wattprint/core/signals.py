"""Signals that stop a command: SIGTERM (a scheduler, ``kill``) ends a run the way Ctrl-C does.

The CLI turns both into :class:`Interrupted` (a ``KeyboardInterrupt``, so every ``except KeyboardInterrupt``
clean-up runs for either: the bench marking its running repeat aborted, the sweep cancelling its jobs), and
the process exits with the shell's convention for a signal: 128 + its number (130 for SIGINT, 143 for
SIGTERM).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """A run stopped by signal ``signum``."""

    def __init__(self, signum: int) -> None:
        self.signum = int(signum)
        super().__init__(f"{signal_name(self.signum)}")

    @property
    def reason(self) -> str:
        return "interrupted (Ctrl-C)" if self.signum == signal.SIGINT else f"terminated ({signal_name(self.signum)})"


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def exit_code(e: BaseException) -> int:
    """128 + the signal's number: 143 for SIGTERM, 130 for SIGINT (and for a plain KeyboardInterrupt)."""
    return 128 + (e.signum if isinstance(e, Interrupted) else int(signal.SIGINT))


class StopSignals:
    """While open, each of ``signals`` raises :class:`Interrupted` in the main thread, and ``received`` keeps
    the last one; the previous handlers come back on exit.

    ``received`` lets a caller give the signal's exit code even when the code it ran caught the interrupt
    and returned normally (a server that shuts down gracefully). Outside the main thread Python allows no
    handler, and this does nothing.
    """

    def __init__(self, signals: tuple[int, ...] = STOP_SIGNALS) -> None:
        self.signals = signals
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def _handler(self, signum: int, frame: Any) -> None:
        self.received = signum
        raise Interrupted(signum)

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._handler) for s in self.signals}
        return self

    def __exit__(self, *exc: object) -> None:
        for s, h in self._previous.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)
        self._previous = {}


def stop_signals_interrupt(signals: tuple[int, ...] = (signal.SIGTERM,)) -> contextlib.AbstractContextManager[Any]:
    """SIGTERM (by default) raises :class:`Interrupted` while open (see :class:`StopSignals`)."""
    return StopSignals(signals)
