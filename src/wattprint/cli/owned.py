"""Which output files wattprint wrote: an existing file is replaced only when it is one of them, unchanged since.

Every file a command writes (a report, an export, a measurement's JSON, a report folder's files) is remembered by
its absolute path and the SHA-256 of its content in ``outputs.json`` under ``$WATTPRINT_STATE_DIR`` (else
``$XDG_STATE_HOME/wattprint``, else ``~/.local/state/wattprint``). Writing the same report again replaces it; a
file wattprint did not write, or one edited since, is refused before anything is written. The content is the
only mark every format can carry: a CSV, a Parquet file or a Markdown page has no room for a header of ours.

If the state folder cannot be read or written, nothing is remembered and a later replace is refused with the
fix, which loses nothing. Devices and pipes (``/dev/stdout``) are not files anyone keeps: they are written to.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

from wattprint.core.errors import ConfigError
from wattprint.store.ownership import SQLITE_MAGIC

KEEP = 2000  # entries remembered; the oldest go first (a forgotten output is refused, with the fix, not lost)


def state_dir() -> Path:
    env = os.environ
    if env.get("WATTPRINT_STATE_DIR"):
        return Path(env["WATTPRINT_STATE_DIR"])
    if env.get("XDG_STATE_HOME"):
        return Path(env["XDG_STATE_HOME"]) / "wattprint"
    return Path.home() / ".local" / "state" / "wattprint"


def _registry_path() -> Path:
    return state_dir() / "outputs.json"


def _read() -> dict[str, str]:
    try:
        data = json.loads(_registry_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _digest(path: Path) -> str | None:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return None
    return h.hexdigest()


def _key(path: str | os.PathLike[str]) -> str:
    return str(Path(path).resolve())


def remember(path: str | os.PathLike[str]) -> None:
    """Note ``path`` (just written by wattprint) as ours; a failure to note it is silent (see the module doc)."""
    digest = _digest(Path(path))
    if digest is None:
        return
    entries = _read()
    entries.pop(_key(path), None)  # re-inserted last: the newest outputs are the last to be forgotten
    entries[_key(path)] = digest
    entries = dict(list(entries.items())[-KEEP:])
    target = _registry_path()
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(entries, indent=0), encoding="utf-8")
        os.replace(tmp, target)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _is_sqlite(p: Path) -> bool:
    try:
        with open(p, "rb") as f:
            return f.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def check_replaceable(path: str | os.PathLike[str]) -> None:
    """ConfigError when ``path`` is an existing regular file that wattprint did not write, or that changed since."""
    p = Path(path)
    if not p.is_file():
        return
    if _is_sqlite(p):
        raise ConfigError(f"{path} is an SQLite database (a wattprint store, or another program's)",
                          "pick another path: an output never replaces a database")
    recorded = _read().get(_key(p))
    if recorded is not None and recorded == _digest(p):
        return
    why = "changed since wattprint wrote it" if recorded is not None else "was not written by wattprint"
    raise ConfigError(f"{path} already exists and {why}",
                      "pick another path, or move that file away first (wattprint replaces only its own outputs)")
