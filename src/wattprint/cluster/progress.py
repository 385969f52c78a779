"""How far a sweep has come: counts the driver keeps, and the displays that show them.

:class:`SweepCounts` is plain data the driver updates; a display only reads it. ``RichDisplay`` draws a
live progress bar (jobs done, running, failed, energy measured so far); ``LineDisplay`` prints one line
per job event (for logs and terminals without rich); ``NullDisplay`` shows nothing (tests).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO

from wattprint.core.units import J_PER_WH


@dataclass
class SweepCounts:
    """Jobs and repeats of one sweep. Energy in joules, over finished repeats' measured windows."""

    jobs_total: int = 0  # jobs this sweep runs (skipped ones apart)
    jobs_skipped: int = 0  # every repeat already finished in the store
    jobs_done: int = 0  # ended with every repeat finished
    jobs_failed: int = 0  # ended with at least one repeat failed
    jobs_running: int = 0
    repeats_finished: int = 0
    repeats_failed: int = 0
    repeats_aborted: int = 0
    energy_j: float = 0.0
    started_at: float = field(default_factory=time.monotonic)

    @property
    def jobs_ended(self) -> int:
        return self.jobs_done + self.jobs_failed

    def line(self) -> str:
        elapsed = time.monotonic() - self.started_at
        return (
            f"{self.jobs_ended}/{self.jobs_total} jobs ended ({self.jobs_done} done, {self.jobs_failed} failed), "
            f"{self.jobs_running} running, {self.jobs_skipped} skipped as finished; "
            f"{self.repeats_finished} repeats, {self.energy_j / J_PER_WH:.4f} Wh measured; {elapsed:.0f} s"
        )


class Display(Protocol):
    def __enter__(self) -> Display: ...

    def __exit__(self, *exc: object) -> None: ...

    def update(self, counts: SweepCounts) -> None: ...

    def note(self, message: str) -> None: ...


class NullDisplay:
    def __enter__(self) -> NullDisplay:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, counts: SweepCounts) -> None:
        return None

    def note(self, message: str) -> None:
        return None


class LineDisplay(NullDisplay):
    """One line per note, and the counts whenever a job ends."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self._last_ended = -1

    def update(self, counts: SweepCounts) -> None:
        if counts.jobs_ended != self._last_ended:
            self._last_ended = counts.jobs_ended
            print(f"sweep: {counts.line()}", file=self.stream, flush=True)

    def note(self, message: str) -> None:
        print(f"sweep: {message}", file=self.stream, flush=True)


class RichDisplay:
    """A live bar: jobs ended out of total, with running, failed and energy beside it."""

    def __init__(self, title: str) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"), TimeElapsedColumn(), transient=False,
        )
        self._task: Any = self._progress.add_task(title, total=None, status="starting")

    def __enter__(self) -> RichDisplay:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def update(self, counts: SweepCounts) -> None:
        status = (
            f"[green]{counts.jobs_done} done[/] [cyan]{counts.jobs_running} running[/] "
            f"[red]{counts.jobs_failed} failed[/] {counts.jobs_skipped} skipped · "
            f"{counts.energy_j / J_PER_WH:.4f} Wh"
        )
        self._progress.update(self._task, total=counts.jobs_total, completed=counts.jobs_ended, status=status)

    def note(self, message: str) -> None:
        self._progress.console.print(message)


def make_display(title: str, kind: str = "auto") -> Any:
    """"rich" (a live bar), "lines" (a line per event) or "none"; "auto": rich on a terminal, else lines."""
    if kind == "auto":
        kind = "rich" if sys.stderr.isatty() else "lines"
    if kind == "rich":
        try:
            return RichDisplay(title)
        except ImportError:
            kind = "lines"
    return LineDisplay() if kind == "lines" else NullDisplay()
