"""Progress of a benchmark: rich bars on a terminal, plain lines otherwise, nothing in tests.

The runner calls these hooks between and inside measured windows; ``advance`` runs inside a window,
so every implementation keeps it to a counter update (rich redraws from its own thread, at 4 Hz).
"""

from __future__ import annotations

import sys
from typing import Any, Protocol, TextIO


class Progress(Protocol):
    def plan(self, jobs: int) -> None: ...

    def job_started(self, label: str, repeats: int) -> None: ...

    def stage(self, text: str) -> None: ...

    def repeat_started(self, repeat: int, repeats: int, inputs: int) -> None: ...

    def advance(self, n: int) -> None: ...

    def job_finished(self, label: str, summary: str) -> None: ...

    def close(self) -> None: ...


class NullProgress:
    def plan(self, jobs: int) -> None:
        return None

    def job_started(self, label: str, repeats: int) -> None:
        return None

    def stage(self, text: str) -> None:
        return None

    def repeat_started(self, repeat: int, repeats: int, inputs: int) -> None:
        return None

    def advance(self, n: int) -> None:
        return None

    def job_finished(self, label: str, summary: str) -> None:
        return None

    def close(self) -> None:
        return None


class PlainProgress(NullProgress):
    """One line per event on ``stream`` (stderr): for logs, pipes and CI."""

    def __init__(self, stream: TextIO | None = None, title: str = "wattprint bench") -> None:
        self.stream = stream or sys.stderr
        self.title = title
        self._jobs = 0
        self._done = 0
        self._label = ""

    def _say(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def plan(self, jobs: int) -> None:
        self._jobs = jobs
        self._say(f"{self.title}: {jobs} job(s)")

    def job_started(self, label: str, repeats: int) -> None:
        self._label = label
        self._say(f"[{self._done + 1}/{self._jobs}] {label}: {repeats} repeat(s)")

    def stage(self, text: str) -> None:
        self._say(f"    {text}")

    def repeat_started(self, repeat: int, repeats: int, inputs: int) -> None:
        self._say(f"    repeat {repeat + 1}/{repeats}: {inputs} inputs")

    def job_finished(self, label: str, summary: str) -> None:
        self._done += 1
        self._say(f"    {summary}")


class RichProgress(NullProgress):
    """Bars for jobs (task / model) and for the inputs of the current repeat."""

    def __init__(self, console: Any = None) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=console, refresh_per_second=4, transient=False,
        )
        self._progress.start()
        self._jobs_bar = self._progress.add_task("jobs", total=0)
        self._inputs_bar = self._progress.add_task("inputs", total=0, visible=False)
        self._label = ""

    def plan(self, jobs: int) -> None:
        self._progress.update(self._jobs_bar, total=jobs)

    def job_started(self, label: str, repeats: int) -> None:
        self._label = label
        self._progress.update(self._jobs_bar, description=f"{label}")

    def stage(self, text: str) -> None:
        self._progress.update(self._inputs_bar, description=f"  {text}", visible=True, total=None, completed=0)

    def repeat_started(self, repeat: int, repeats: int, inputs: int) -> None:
        self._progress.update(self._inputs_bar, description=f"  repeat {repeat + 1}/{repeats}", total=inputs,
                              completed=0, visible=True)

    def advance(self, n: int) -> None:
        self._progress.advance(self._inputs_bar, n)

    def job_finished(self, label: str, summary: str) -> None:
        self._progress.console.print(f"{label}: {summary}")
        self._progress.advance(self._jobs_bar, 1)

    def close(self) -> None:
        self._progress.stop()


def make_progress(enabled: bool = True, stream: TextIO | None = None, title: str = "wattprint bench") -> Progress:
    """Rich bars when rich is installed and ``stream`` is a terminal; plain lines (the first naming ``title``)
    otherwise."""
    if not enabled:
        return NullProgress()
    stream = stream or sys.stderr
    if stream.isatty():
        try:
            from rich.console import Console
        except ImportError:
            return PlainProgress(stream, title)
        return RichProgress(Console(file=stream))
    return PlainProgress(stream, title)
