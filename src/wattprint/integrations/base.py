"""What every tracker shares: per-window logging through the meter's hooks, and a failure that never loses a
measurement (it goes to a local JSON-lines file, named in one warning line)."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from wattprint.meter import hooks
from wattprint.meter.result import Measurement

log = logging.getLogger("wattprint.integrations")


class WindowLogger:
    """Sends measurements to one tracker: :meth:`log` one, or :meth:`attach` to send every window a Meter
    closes (``with Logger(...):`` attaches for the block). ``windows``: the window names to send (default all).

    When the tracker cannot be reached, the measurement and every later one are appended to ``fallback`` (default
    ``wattprint-unsent-<tracker>.jsonl`` in the working directory), the failure is in :attr:`failures`, and one
    warning line names the file; :func:`read_unsent` reads it back.
    """

    tracker = "tracker"

    def __init__(self, prefix: str = "energy", windows: Iterable[str] | None = None,
                 fallback: str | os.PathLike[str] | None = None) -> None:
        self.prefix = prefix
        self.windows = None if windows is None else set(windows)
        self.fallback = Path(fallback if fallback is not None else f"wattprint-unsent-{self.tracker}.jsonl")
        self.failures: list[str] = []
        self.sent = 0
        self.kept = 0
        self._steps: dict[str, int] = {}
        self._lock = threading.RLock()
        self._attached = False

    # ---- per window ------------------------------------------------------------------------------
    def log(self, measurement: Measurement, step: int | None = None) -> bool:
        """Send one measurement (``step`` defaults to a count of this window name's measurements); True when
        the tracker took it, False when it was kept in the fallback file instead."""
        with self._lock:
            if step is None:
                step = self._steps.get(measurement.name, 0)
            self._steps[measurement.name] = step + 1
            if self.failures:  # the tracker already failed: keep without waiting for it again
                self._keep({"measurement": measurement.to_dict(), "step": step})
                return False
            try:
                self._send(measurement, step)
            except Exception as e:  # any failure of the tracker: the measurement must survive it
                self._failed(e, {"measurement": measurement.to_dict(), "step": step})
                return False
            self.sent += 1
            return True

    def _send(self, measurement: Measurement, step: int) -> None:
        raise NotImplementedError

    def _on_window(self, measurement: Measurement) -> None:
        if self.windows is None or measurement.name in self.windows:
            self.log(measurement)

    def attach(self) -> WindowLogger:
        """Send every window any Meter closes from now on (until :meth:`detach`)."""
        hooks.register(self._on_window)
        self._attached = True
        return self

    def detach(self) -> None:
        hooks.unregister(self._on_window)
        self._attached = False

    def close(self) -> None:
        """Detach and finish what this logger opened (its own run, a writer)."""
        self.detach()

    def __enter__(self) -> WindowLogger:
        return self.attach()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- failure ---------------------------------------------------------------------------------
    def _failed(self, error: BaseException, entry: dict[str, Any]) -> None:
        reason = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}".rstrip(": ")
        self.failures.append(reason)
        self._keep(entry)
        log.warning("%s logging failed (%s); measurement kept in %s, later ones go there too", self.tracker,
                    reason[:300], self.fallback.resolve())

    def _keep(self, entry: dict[str, Any]) -> None:
        entry = {"tracker": self.tracker, "kept_at": time.time(),
                 "error": self.failures[-1] if self.failures else "", **entry}
        self.fallback.parent.mkdir(parents=True, exist_ok=True)
        with open(self.fallback, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry, default=str) + "\n")
        self.kept += 1


def read_unsent(path: str | os.PathLike[str]) -> list[Measurement]:
    """The measurements a logger kept in its fallback file, in the order they were kept."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            entry = json.loads(line)
            if "measurement" in entry:
                out.append(Measurement.from_dict(entry["measurement"]))
    return out
