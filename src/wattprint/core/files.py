"""Reading the user's text files (configuration, plans, presets): any failure is one line naming the file."""

from __future__ import annotations

from pathlib import Path

from wattprint.core.errors import ConfigError


def read_text(path: str | Path, what: str) -> str:
    """The UTF-8 text of ``path`` (``what`` says what it is: "config file", "sweep plan", ...).

    Raises :class:`ConfigError` for a file that is not UTF-8, is a folder, or cannot be read, with the fix.
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except IsADirectoryError:
        raise ConfigError(f"{what} {p} is a folder, not a file", f"give the path of the {what} itself") from None
    except OSError as e:
        raise ConfigError(f"cannot read {what} {p}: {e.strerror or e}", "check the path and its permissions") from None
    try:
        return data.decode("utf-8-sig")  # a byte-order mark, as some Windows editors write, is allowed
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        fixed = f"{p.stem}.utf8{p.suffix}"
        raise ConfigError(
            f"{what} {p} is not UTF-8 text (byte 0x{data[e.start]:02x} on line {line})",
            f"save it as UTF-8, e.g. iconv -f latin1 -t utf-8 {p.name} > {fixed} && mv {fixed} {p.name}",
        ) from None
