"""The run store: one SQLite file (stdlib ``sqlite3``, WAL mode), one row per run, each committed at once.

A run is written twice: :meth:`Store.start` inserts it as ``running`` before its work begins, and
:meth:`Store.finish` overwrites it with the finished, failed or aborted record. A process killed
between the two leaves a ``running`` row; the next :class:`Store` opened on the file marks every such
row whose process is gone as ``aborted``, with the reason. Finished runs are never lost.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from wattprint.store.record import STATUSES, RunRecord
from wattprint.core.errors import ConfigError
from wattprint.store.schema import migrate, transaction

DEFAULT_PATH = "wattprint.db"
_KEY_COLUMNS = (
    "run_id", "plan_key", "status", "task", "model", "preset", "dataset", "repeat", "origin",
    "started_at", "finished_at", "energy_j", "wh_per_1000", "gpu_wh_per_1000", "gco2e_per_1000", "error",
)


def _process_started(pid: int) -> float | None:
    """When process ``pid`` started (Unix seconds), or None if there is no such process."""
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:  # killed, not yet reaped by its parent
            return None
        return proc.create_time()
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return None
    except psutil.AccessDenied:  # exists, owned by someone else
        return float("nan")


def _process_alive(pid: int, started: float | None) -> bool:
    """Is the process that wrote a row still running? A reused pid has another start time."""
    now_started = _process_started(pid)
    if now_started is None:
        return False
    if started is None or now_started != now_started:  # unknown start time (or NaN): assume alive
        return True
    return abs(now_started - started) < 1.0


class Store:
    """Runs in an SQLite file. Safe to share between threads of one process (writes are serialised).

    Raises :class:`ConfigError` if the file cannot be opened as a wattprint store.
    """

    def __init__(self, path: str | os.PathLike[str] = DEFAULT_PATH, *, recover: bool = True) -> None:
        self.path = str(path)
        self._host = socket.gethostname()
        self._pid = os.getpid()
        self._pid_started = _process_started(self._pid)
        self._lock = threading.Lock()
        try:
            if Path(self.path).parent != Path(""):
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL survives a killed process (not a power cut); each commit is one fsync-free append.
            self._conn.execute("PRAGMA synchronous=NORMAL")
            migrate(self._conn, self.path)
        except sqlite3.DatabaseError as e:
            raise ConfigError(f"cannot open store {self.path}: {e}",
                              fix="check the path, or use another --store file") from e
        reason = "the process running it ended before the run finished"
        self.recovered = self.mark_running_aborted(reason) if recover else 0

    # ---- writing ----------------------------------------------------------------------------------
    def start(self, record: RunRecord) -> None:
        """Insert ``record`` as running and commit."""
        if record.status != "running":
            raise ValueError(f"start() takes a running record, got status {record.status!r}")
        self._write(record, pid=self._pid, replace=False)

    def finish(self, record: RunRecord) -> None:
        """Write the final state of a started record (finished, failed or aborted) and commit at once."""
        if record.status not in ("finished", "failed", "aborted"):
            raise ValueError(f"finish() takes a finished, failed or aborted record, got {record.status!r}")
        if record.finished_at is None:
            record.finished_at = time.time()
        self._write(record, pid=None, replace=True)

    def add(self, record: RunRecord) -> None:
        """Insert a complete record (imported, or streamed back from a sweep worker) and commit."""
        if record.status not in STATUSES:
            raise ValueError(f"unknown status {record.status!r}")
        self._write(record, pid=self._pid if record.status == "running" else None, replace=True)

    def _write(self, record: RunRecord, *, pid: int | None, replace: bool) -> None:
        started = self._pid_started if pid is not None else None
        values = [getattr(record, c) for c in _KEY_COLUMNS] + [self._host, pid, started, record.to_json()]
        verb = "INSERT OR REPLACE" if replace else "INSERT"
        columns = ", ".join((*_KEY_COLUMNS, "host", "pid", "pid_started", "record"))
        marks = ", ".join("?" * len(values))
        with self._lock, transaction(self._conn):
            self._conn.execute(f"{verb} INTO runs ({columns}) VALUES ({marks})", values)

    def mark_running_aborted(self, reason: str, *, only_dead: bool = True) -> int:
        """Mark ``running`` rows as aborted with ``reason``; returns how many.

        With ``only_dead`` (the default), only rows whose process is gone: rows of another host, or of
        a live process, may belong to a run still going on and are left alone.
        """
        with self._lock, transaction(self._conn):
            rows = self._conn.execute(
                "SELECT run_id, host, pid, pid_started, record FROM runs WHERE status = 'running'"
            ).fetchall()
            count = 0
            for run_id, host, pid, pid_started, blob in rows:
                if only_dead and (host != self._host or pid is None or _process_alive(pid, pid_started)):
                    continue
                record = RunRecord.from_dict(json.loads(blob))
                record.status, record.error = "aborted", f"aborted: {reason}"
                record.finished_at = record.finished_at or time.time()
                self._conn.execute(
                    "UPDATE runs SET status = 'aborted', error = ?, finished_at = ?, pid = NULL, record = ? "
                    "WHERE run_id = ?",
                    (record.error, record.finished_at, record.to_json(), run_id),
                )
                count += 1
        return count

    # ---- reading ----------------------------------------------------------------------------------
    def runs(
        self, task: str | None = None, model: str | None = None, status: str | None = "finished",
        origin: str | None = None,
    ) -> list[RunRecord]:
        """Records matching every given filter (``status=None``: any status), oldest first."""
        where, params = [], []
        for column, value in (("task", task), ("model", model), ("status", status), ("origin", origin)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        sql = "SELECT record FROM runs" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY started_at, rowid"
        with self._lock:
            rows = self._conn.execute(sql, params).fetchall()
        return [RunRecord.from_dict(json.loads(r[0])) for r in rows]

    def done_keys(self) -> set[str]:
        """Plan keys of finished runs: what ``--resume`` skips."""
        with self._lock:
            rows = self._conn.execute("SELECT DISTINCT plan_key FROM runs WHERE status = 'finished'").fetchall()
        return {r[0] for r in rows if r[0]}

    def counts(self) -> dict[str, int]:
        """Number of rows per status."""
        with self._lock:
            rows = self._conn.execute("SELECT status, COUNT(*) FROM runs GROUP BY status").fetchall()
        return {s: n for s, n in rows}

    def meta(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._conn.execute("SELECT key, value FROM meta").fetchall())

    # ---- lifetime ---------------------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
