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
    def _failed(self, error: BaseException, entry: dict[str, Any] | None) -> None:
        reason = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}".rstrip(": ")
        self.failures.append(reason)
        if entry is not None:
            self._keep(entry)
        log.warning("%s logging failed (%s); measurement kept in %s, later ones go there too", self.tracker,
                    reason[:300], self.fallback.resolve())

    def resend(self, path: str | os.PathLike[str] | None = None) -> int:
        """Send what a logger kept in ``path`` (default: this logger's fallback file) now that the tracker is
        back; returns how many were sent. What still cannot be sent stays in that file (rewritten whole, so a
        crash halfway loses nothing); the file is removed once empty."""
        path = Path(path if path is not None else self.fallback)
        entries = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        left, sent = [], 0
        for entry in entries:
            if self.failures:
                left.append(entry)
                continue
            try:
                self._resend(entry)
                sent += 1
            except Exception as e:  # still unreachable: the entry stays where it was
                self._failed(e, None)
                left.append(entry)
        if left:
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text("".join(json.dumps(e, default=str) + "\n" for e in left), encoding="utf-8")
            os.replace(tmp, path)
        else:
            path.unlink()
        return sent

    def _resend(self, entry: dict[str, Any]) -> None:
        if "measurement" not in entry:
            raise ValueError(f"{self.tracker} cannot send a kept {sorted(entry)} entry")
        m = Measurement.from_dict(entry["measurement"])
        self._send(m, int(entry.get("step", 0)))
        self.sent += 1

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
