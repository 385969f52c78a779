"""The store's schema: a ``meta`` table with ``schema_version`` and an ordered list of migrations.

Migration ``i`` takes a database from version ``i`` to ``i + 1``. Never edit a migration that has
shipped: append a new one. One row per run: key columns for querying, and the full
:class:`~wattprint.store.record.RunRecord` as JSON in ``record``.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
from collections.abc import Iterator

from wattprint.core.errors import ConfigError

MIGRATIONS: list[tuple[str, ...]] = [
    # 0 -> 1: runs, one row per repeat of one model on one task.
    (
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE runs (
            run_id TEXT PRIMARY KEY,
            plan_key TEXT NOT NULL,
            status TEXT NOT NULL,
            task TEXT NOT NULL,
            model TEXT NOT NULL,
            preset TEXT NOT NULL,
            dataset TEXT NOT NULL DEFAULT '',
            repeat INTEGER NOT NULL,
            origin TEXT NOT NULL,
            started_at REAL NOT NULL,
            finished_at REAL,
            energy_j REAL,
            wh_per_1000 REAL,
            gpu_wh_per_1000 REAL,
            gco2e_per_1000 REAL,
            error TEXT,
            host TEXT,
            pid INTEGER,
            pid_started REAL,
            record TEXT NOT NULL
        )""",
        "CREATE INDEX runs_task_model ON runs (task, model)",
        "CREATE INDEX runs_plan_key ON runs (plan_key, status)",
        "CREATE INDEX runs_status ON runs (status)",
    ),
]

SCHEMA_VERSION = len(MIGRATIONS)
_DAMAGED_FIX = "restore the store from a copy, or use another --store file"


def schema_version(conn: sqlite3.Connection, path: str = "the store") -> int:
    """The database's version: 0 for a new file. Raises :class:`ConfigError` when it is not a whole number."""
    has_meta = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
    if not has_meta:
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if not row:
        return 0
    try:
        return int(row[0])
    except (TypeError, ValueError):
        raise ConfigError(f"store {path} is damaged: its schema_version is {row[0]!r}, not a whole number",
                          fix=_DAMAGED_FIX) from None


@functools.cache
def _columns() -> dict[str, frozenset[str]]:
    """Each table's columns at :data:`SCHEMA_VERSION`, from the migrations themselves (run in memory)."""
    conn = sqlite3.connect(":memory:")
    try:
        for step in MIGRATIONS:
            for statement in step:
                conn.execute(statement)
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: frozenset(r[1] for r in conn.execute(f"PRAGMA table_info({t})")) for t in tables}
    finally:
        conn.close()


def check_columns(conn: sqlite3.Connection, path: str) -> None:
    """Every table and column this wattprint reads is there (a store changed by hand may lack one)."""
    for table, wanted in _columns().items():
        have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        missing = sorted(wanted - have)
        if missing:
            what = (f"no {table} table" if not have else
                    f"a {table} table without {'column' if len(missing) == 1 else 'columns'} {', '.join(missing)}")
            raise ConfigError(f"store {path} is damaged: it has {what}", fix=_DAMAGED_FIX)


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """An explicit write transaction on a connection opened with ``isolation_level=None``."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def migrate(conn: sqlite3.Connection, path: str) -> int:
    """Bring the database to :data:`SCHEMA_VERSION`, each step in its own transaction.

    The connection must be in autocommit mode (``isolation_level=None``) so that DDL is transactional.
    Raises :class:`ConfigError` when the file was written by a newer wattprint.
    """
    while True:
        with transaction(conn):  # the version is re-read under the write lock: two openers cannot both migrate
            version = schema_version(conn, path)
            if version > SCHEMA_VERSION:
                raise ConfigError(
                    f"store {path} has schema version {version}; this wattprint reads up to {SCHEMA_VERSION}",
                    fix="upgrade wattprint, or use another --store file",
                )
            if version == SCHEMA_VERSION:
                check_columns(conn, path)
                return version
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(version + 1),),
            )


def check_readable(conn: sqlite3.Connection, path: str) -> int:
    """The version of a store opened read-only, which cannot be migrated: it must be this wattprint's.

    Raises :class:`ConfigError` for a newer store (upgrade wattprint) or an older one (open it once with a
    command that writes, such as ``wattprint import``, to migrate it).
    """
    version = schema_version(conn, path)
    if version > SCHEMA_VERSION:
        raise ConfigError(f"store {path} has schema version {version}; this wattprint reads up to {SCHEMA_VERSION}",
                          fix="upgrade wattprint, or use another --store file")
    if version < SCHEMA_VERSION:
        raise ConfigError(f"store {path} has schema version {version}, older than this wattprint's {SCHEMA_VERSION}",
                          fix="run a command that writes to it once (e.g. `wattprint bench --resume`) to migrate it")
    check_columns(conn, path)
    return version
