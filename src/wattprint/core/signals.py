"""Signals that stop a command: SIGTERM (a scheduler, ``kill``) ends a run the way Ctrl-C does.

The CLI turns both into :class:`Interrupted` (a ``KeyboardInterrupt``), so every ``except KeyboardInterrupt``
clean-up (the bench marking its running repeat aborted, the sweep cancelling its jobs) runs for either,
and the process exits with the shell's convention for a signal: 128 + its number (130 for SIGINT, 143 for
SIGTERM).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

STOP_SIGNALS = (signal.SIGTERM,)  # SIGINT already raises KeyboardInterrupt through Python's own handler


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


def raise_interrupted(signum: int, frame: Any) -> None:
    """A signal handler: raise :class:`Interrupted` in the main thread."""
    raise Interrupted(signum)


@contextlib.contextmanager
def stop_signals_interrupt(signals: tuple[int, ...] = STOP_SIGNALS) -> Iterator[None]:
    """While open, each of ``signals`` raises :class:`Interrupted` in the main thread; restored afterwards.

    Outside the main thread Python allows no handler, and this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, raise_interrupted) for s in signals}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)
