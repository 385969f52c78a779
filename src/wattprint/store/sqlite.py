"""The run store: one SQLite file (stdlib ``sqlite3``, WAL mode), one row per run, each committed at once.

A run is written twice: :meth:`Store.start` inserts it as ``running`` before its work begins, and
:meth:`Store.finish` overwrites it with the finished, failed or aborted record. A process killed
between the two leaves a ``running`` row; the next :class:`Store` opened on the file marks every such
row whose process is gone as ``aborted``, with the reason. Finished runs are never lost.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any, TextIO

import psutil

from wattprint.core.errors import ConfigError
from wattprint.store import ownership
from wattprint.store.checks import invalid_reason
from wattprint.store.record import STATUSES, RunRecord
from wattprint.store.schema import check_readable, migrate, transaction

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


def _can_write(path: str) -> bool:
    if os.access in os.supports_effective_ids:
        return os.access(path, os.W_OK, effective_ids=True)
    return os.access(path, os.W_OK)


def _read_only_error(path: str) -> ConfigError:
    return ConfigError(f"cannot write store {path}: it is read-only (file mode or read-only file system)",
                       fix=f"make it writable (chmod u+w {path}), or pass --store with another file")


def _open_error(path: str, error: sqlite3.DatabaseError) -> ConfigError:
    return ConfigError(f"cannot open store {path}: {error}", fix="check the path, or use another --store file")


@contextlib.contextmanager
def _reading(path: str) -> Iterator[None]:
    """A damaged page met while reading is a :class:`ConfigError`, not an SQLite traceback."""
    try:
        yield
    except sqlite3.DatabaseError as e:
        raise ConfigError(f"cannot read store {path}: {e}",
                          fix="restore the store from a copy, or use another --store file") from e


def _decode(blob: str) -> tuple[RunRecord | None, str | None]:
    """A stored record, or why it cannot be read."""
    try:
        return RunRecord.from_dict(json.loads(blob)), None
    except (ValueError, TypeError) as e:
        return None, f"unreadable record ({e})"


class Store:
    """Runs in an SQLite file. Safe to share between threads of one process (writes are serialised).

    ``readonly=True`` opens an existing store for reading only (``export``, ``report``, ``breakeven``):
    nothing is written to the file or beside it, so it works on a read-only file system. Either way,
    a file that is not a wattprint store is refused untouched (see :mod:`wattprint.store.ownership`).
    Raises :class:`ConfigError` if the file cannot be opened as a wattprint store.
    """

    def __init__(self, path: str | os.PathLike[str] = DEFAULT_PATH, *, recover: bool = True,
                 readonly: bool = False) -> None:
        self.path = str(path)
        self.readonly = readonly
        self._host = socket.gethostname()
        self._pid = os.getpid()
        self._pid_started = _process_started(self._pid)
        self._lock = threading.Lock()
        self.notes: list[str] = []  # what reading could not do (a -wal it could not see)
        self.skipped: list[str] = []  # finished runs left out by the last runs() call, and why
        self._conn = self._open_read() if readonly else self._open_write()
        reason = "the process running it ended before the run finished"
        self.recovered = self.mark_running_aborted(reason) if recover and not readonly else 0

    def _open_read(self) -> sqlite3.Connection:
        found = ownership.inspect(self.path)
        if found.state == "new":
            raise ConfigError(f"no store at {self.path}", fix="run `wattprint bench` first, or pass --store PATH")
        conn, note = ownership.read_connection(self.path)
        if note:
            self.notes.append(note)
        try:
            check_readable(conn, self.path)
        except BaseException as e:
            conn.close()
            if isinstance(e, sqlite3.DatabaseError):  # a damaged file: its schema cannot be read
                raise _open_error(self.path, e) from e
            raise
        return conn

    def _open_write(self) -> sqlite3.Connection:
        found = ownership.inspect(self.path)
        if found.state != "new" and not _can_write(self.path):  # before SQLite leaves a -wal or -shm beside it
            raise _read_only_error(self.path)
        created = found.state == "new" and ownership.create_exclusive(self.path)
        if found.state == "new" and not created:  # another process created it in between: look again
            found = ownership.inspect(self.path)
        conn = None
        try:
            conn = sqlite3.connect(ownership.uri(self.path, mode="rw"), uri=True, timeout=30.0,
                                   isolation_level=None, check_same_thread=False)
            if created or found.state == "legacy":  # the mark first: from its first write, the file is ours
                conn.execute(f"PRAGMA application_id = {ownership.APPLICATION_ID}")
            conn.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL survives a killed process (not a power cut); each commit is one fsync-free append.
            conn.execute("PRAGMA synchronous=NORMAL")
            migrate(conn, self.path)
            # a write that changes nothing: SQLite opens a file it may not write read-only without saying so,
            # and the first run would fail only when it is stored
            conn.execute("UPDATE meta SET value = value WHERE 0")
            return conn
        except BaseException as e:
            if conn is not None:
                conn.close()
            self._forget(created)
            if isinstance(e, sqlite3.OperationalError) and "readonly" in str(e):
                raise _read_only_error(self.path) from e
            if isinstance(e, sqlite3.DatabaseError):
                raise _open_error(self.path, e) from e
            raise

    def _forget(self, created: bool) -> None:
        """Remove a store file this call created and left empty (so it is not refused as someone else's)."""
        if created and os.path.isfile(self.path) and os.path.getsize(self.path) == 0:
            os.remove(self.path)

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

    def _writable(self) -> None:
        if self.readonly:
            raise RuntimeError(f"store {self.path} was opened read-only")

    def _write(self, record: RunRecord, *, pid: int | None, replace: bool) -> None:
        self._writable()
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
        self._writable()
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
        """Records matching every given filter (``status=None``: any status), oldest first.

        A finished row that is not a usable measurement (unreadable, or a negative, NaN or infinite
        quantity) is left out, and :attr:`skipped` says which and why (reset at each call).
        """
        where, params = [], []
        for column, value in (("task", task), ("model", model), ("status", status), ("origin", origin)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        sql = "SELECT run_id, record FROM runs" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY started_at, rowid"
        with self._lock, _reading(self.path):
            rows = self._conn.execute(sql, params).fetchall()
        out: list[RunRecord] = []
        self.skipped = []
        for run_id, blob in rows:
            record, why = _decode(blob)
            if record is not None and record.status == "finished":
                why = invalid_reason(record)
            if record is None or why:
                what = f"{record.task} / {record.model} repeat {record.repeat}" if record else "a row"
                self.skipped.append(f"run {run_id} ({what}): {why}")
                continue
            out.append(record)
        return out

    def notices(self) -> list[str]:
        """Lines for the user: what reading could not see, and each run the last :meth:`runs` left out."""
        lines = list(self.notes)
        if self.skipped:
            lines.append(f"left out {len(self.skipped)} stored run(s) that are not valid measurements:")
            lines += [f"  skipped {s}" for s in self.skipped]
        return lines

    def print_notices(self, stream: TextIO | None = None) -> None:
        """Write :meth:`notices` to ``stream`` (standard error by default), each line prefixed ``wattprint:``."""
        out = stream or sys.stderr
        for line in self.notices():
            print(f"wattprint: {line}", file=out)

    def done_keys(self) -> set[str]:
        """Plan keys of finished runs: what ``--resume`` skips."""
        with self._lock, _reading(self.path):
            rows = self._conn.execute("SELECT DISTINCT plan_key FROM runs WHERE status = 'finished'").fetchall()
        return {r[0] for r in rows if r[0]}

    def counts(self) -> dict[str, int]:
        """Number of rows per status."""
        with self._lock, _reading(self.path):
            rows = self._conn.execute("SELECT status, COUNT(*) FROM runs GROUP BY status").fetchall()
        return {s: n for s, n in rows}

    def meta(self) -> dict[str, Any]:
        with self._lock, _reading(self.path):
            return dict(self._conn.execute("SELECT key, value FROM meta").fetchall())

    # ---- lifetime ---------------------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
