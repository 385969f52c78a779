"""Whose file is this? wattprint writes only to SQLite files it created or that carry its mark.

The mark is SQLite's ``application_id`` header field (bytes 68-71 of the file, ``PRAGMA application_id``),
set to :data:`APPLICATION_ID` when wattprint creates a store. A store written before the mark existed is
recognised by its own tables (``meta`` with a ``schema_version``, ``runs`` with wattprint's columns) and
marked the next time it is opened for writing. Any other file is refused before anything touches it.

Looking never writes: a file is inspected through a read-only connection that creates no ``-wal`` or
``-shm`` file beside it (``immutable=1`` when no writer has a ``-wal`` open), so the check also works on a
read-only file system.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from wattprint.core.errors import ConfigError

# "WPRT" in ASCII; any 32-bit value no other application registered would do (SQLite's magic.txt lists those).
APPLICATION_ID = 0x57505254
SQLITE_MAGIC = b"SQLite format 3\x00"
# Columns every wattprint store's runs table has had (schema version 1 on).
_RUNS_COLUMNS = {"run_id", "plan_key", "status", "task", "model", "preset", "record"}
_OTHERS_FIX = "pass --store with a wattprint store, or a new file name (wattprint creates it)"


@dataclass(frozen=True)
class StoreFile:
    """What a path holds: ``state`` is "new" (no file), "ours" (marked) or "legacy" (unmarked wattprint store)."""

    path: str
    state: str


def uri(path: str, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return Path(path).resolve().as_uri() + (f"?{query}" if query else "")


def _header(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(100)
    except OSError as e:
        raise ConfigError(f"cannot read store {path}: {e.strerror or e}", _OTHERS_FIX) from e


def read_connection(path: str) -> tuple[sqlite3.Connection, str | None]:
    """A read-only connection to ``path`` that writes nothing beside it, and a note when it had to ignore a -wal.

    With no ``-wal`` file there is no writer and nothing outside the main file, so ``immutable=1`` reads it
    without creating ``-wal``/``-shm`` (plain ``mode=ro`` on a WAL database creates both and leaves them).
    With a ``-wal`` (a writer is running, or one was killed) ``mode=ro`` sees its commits; where that cannot
    open (read-only file system without ``-shm``), the main file is read as it is and the note says so.
    """
    wal = os.path.exists(path + "-wal")
    if not wal:
        return sqlite3.connect(uri(path, mode="ro", immutable="1"), uri=True, check_same_thread=False), None
    try:
        conn = sqlite3.connect(uri(path, mode="ro"), uri=True, check_same_thread=False)
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return conn, None
    except sqlite3.OperationalError:
        conn = sqlite3.connect(uri(path, mode="ro", immutable="1"), uri=True, check_same_thread=False)
        return conn, (f"{path}-wal could not be read (read-only location): runs committed since the last "
                      "checkpoint are not shown")


def _is_wattprint_schema(conn: sqlite3.Connection) -> bool:
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not {"meta", "runs"} <= tables:
        return False
    if not conn.execute("SELECT 1 FROM meta WHERE key = 'schema_version'").fetchone():
        return False
    columns = {r[1] for r in conn.execute("PRAGMA table_info(runs)")}
    return _RUNS_COLUMNS <= columns


def _describe(conn: sqlite3.Connection) -> str:
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    return f"tables: {', '.join(names[:5])}{', ...' if len(names) > 5 else ''}" if names else "no tables"


def inspect(path: str | os.PathLike[str]) -> StoreFile:
    """Classify ``path`` without changing it. Raises :class:`ConfigError` for any file that is not wattprint's."""
    p = str(path)
    if not os.path.lexists(p):
        return StoreFile(p, "new")
    if os.path.isdir(p):
        raise ConfigError(f"store {p} is a folder", "pass the path of a store file, e.g. --store runs.db")
    head = _header(p)
    if not head.startswith(SQLITE_MAGIC):
        what = "an empty file" if not head else "not an SQLite file"
        raise ConfigError(f"{p} is {what}, not a wattprint store; left untouched", _OTHERS_FIX)
    try:
        conn, _ = read_connection(p)
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            if app_id == APPLICATION_ID:
                return StoreFile(p, "ours")
            if app_id != 0:
                raise ConfigError(f"{p} belongs to another application (SQLite application_id {app_id:#x}); "
                                  "left untouched", _OTHERS_FIX)
            if _is_wattprint_schema(conn):
                return StoreFile(p, "legacy")
            raise ConfigError(f"{p} is an SQLite database that is not a wattprint store ({_describe(conn)}); "
                              "left untouched", _OTHERS_FIX)
        finally:
            conn.close()
    except sqlite3.DatabaseError as e:
        raise ConfigError(f"cannot read store {p}: {e}", _OTHERS_FIX) from e


def create_exclusive(path: str) -> bool:
    """Create ``path`` empty if nothing is there; False if something already was (another process won)."""
    parent = Path(path).parent
    try:
        if parent != Path(""):
            parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        if os.path.isdir(parent):
            return False
        raise ConfigError(f"cannot create store {path}: {parent} is not a folder",
                          "pass --store with a path in a folder you can write to") from None
    except OSError as e:
        raise ConfigError(f"cannot create store {path}: {e.strerror or e}",
                          "pass --store with a path in a folder you can write to") from None
    os.close(fd)
    return True
