"""Checks shared by the commands' flags, so bad input is refused in one line with the fix before any work.

- ``number(...)`` / ``integer(...)``: argparse ``type=`` callables for finite numbers in a range
  (NaN, inf and out-of-range values are refused at parse time).
- ``param_pair``: a ``NAME=VALUE`` task parameter, its value read as TOML reads it (true, 3, 2.5, text).
- ``output_file(suffix, stdout)``: an output path that can be written (not a folder, its folder
  exists and is writable, not a file wattprint did not write: ``wattprint.cli.owned``), checked at parse time,
  so before a measured command runs.
- ``store_file()``: a ``--store`` path that is not empty (optionally: in a folder that exists).
- ``write_output(path, text)``: write a result (and remember it as ours); if the write still fails (disk full,
  permission changed), the result is kept in a temporary file whose path the error names.
- ``require_device(device)``: a torch device that exists on this machine, before anything loads.
- ``one_line_errors(parser)``: argparse errors as ``wattprint CMD: error: ...`` plus a fix line, no usage dump;
  a value outside a flag's choices gets the close matches.
- ``refuse_empty(parser)``: free-text flags refuse an empty value rather than read it as "not given".
- ``misspelt_options(parser, words)``: the "did you mean --kwh?" for unrecognized arguments.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shutil
import sys
import tempfile
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from wattprint.cli.owned import check_replaceable, remember
from wattprint.core.config import MAX_IDLE_S as MAX_IDLE_S  # the commands' --idle-seconds cap
from wattprint.core.errors import ConfigError, WattprintError

CUDA_MISSING = "CUDA is not available on this machine"
CUDA_FIX = "use --device cpu or install a CUDA build of torch"


# ---- numbers ------------------------------------------------------------------------------------
def _bounds(minimum: float | None, maximum: float | None, above: float | None) -> str:
    def show(x: float) -> str:  # a whole bound in full (a seed's 2**63 - 1), others short
        return str(x) if isinstance(x, int) else f"{x:g}"

    parts = []
    if above is not None:
        parts.append(f"> {show(above)}")
    if minimum is not None:
        parts.append(f">= {show(minimum)}")
    if maximum is not None:
        parts.append(f"<= {show(maximum)}")
    return " and ".join(parts)


def _in_range(value: float, minimum: float | None, maximum: float | None, above: float | None) -> bool:
    return ((minimum is None or value >= minimum) and (maximum is None or value <= maximum)
            and (above is None or value > above))


def number(*, minimum: float | None = None, maximum: float | None = None, above: float | None = None,
           example: str = "1.5") -> Callable[[str], float]:
    """A ``type=`` for a finite float in range: ``number(minimum=0)``, ``number(above=0)``..."""
    wanted = "a finite number" + (f" {_bounds(minimum, maximum, above)}" if (minimum, maximum, above) != (None,) * 3
                                  else "")

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or not _in_range(value, minimum, maximum, above):
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}\n  fix: pass e.g. {example}")
        return value

    parse.__name__ = "number"  # argparse names the type in some messages
    return parse


def integer(*, minimum: int | None = None, maximum: int | None = None, example: str = "1",
            also: tuple[str, ...] = ()) -> Callable[[str], int | str]:
    """A ``type=`` for a whole number in range; words in ``also`` (e.g. "auto") pass through as they are."""
    wanted = "a whole number" + (f" {_bounds(minimum, maximum, None)}" if (minimum, maximum) != (None, None) else "")
    if also:
        wanted += " or " + " or ".join(repr(w) for w in also)

    def parse(text: str) -> int | str:
        if text in also:
            return text
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not _in_range(value, minimum, maximum, None):
            raise argparse.ArgumentTypeError(f"expected {wanted}, got {text!r}\n  fix: pass e.g. {example}")
        return value

    parse.__name__ = "integer"
    return parse


def param_pair(text: str) -> tuple[str, Any]:
    """``NAME=VALUE`` -> (name, value): the value as TOML reads it (true, 3, 2.5, "text"), a bare word as text,
    ``none`` as None (the task's default). The value is checked against the task's declaration later."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    name, eq, raw = text.partition("=")
    name, raw = name.strip(), raw.strip()
    if not eq or not name.isidentifier() or not raw:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}\n  fix: pass e.g. --param prompt_words=20")
    if raw.lower() == "none":
        return name, None
    try:
        return name, tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return name, raw


# ---- output paths -------------------------------------------------------------------------------
def _can_write(path: Path) -> bool:
    if os.access in os.supports_effective_ids:
        return os.access(path, os.W_OK, effective_ids=True)
    return os.access(path, os.W_OK)


def _read_only_fs(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False


def check_output(text: str, suffix: str = ".json") -> Path:
    """The path ``text`` when a file can be written there; ConfigError (one line and a fix) otherwise.
    ``suffix`` only shapes the example in the fix."""
    if not text.strip():
        raise ConfigError("the output path is empty", f"pass a file name, e.g. out{suffix}")
    path = Path(text)
    if path.is_dir():
        raise ConfigError(f"{text} is a folder, not a file", f"name a file in it, e.g. {path / ('out' + suffix)}")
    folder = path.parent
    if not folder.exists():
        raise ConfigError(f"the folder {folder} does not exist", f"create it (mkdir -p {folder}) or pick another path")
    if not folder.is_dir():
        raise ConfigError(f"{folder} is not a folder", "pick a path inside a folder")
    check_replaceable(path)  # an existing file is replaced only when wattprint wrote it and it is unchanged
    target = path if path.exists() else folder
    if not _can_write(target):
        why = "is on a read-only file system" if _read_only_fs(target) else "is not writable by this user"
        raise ConfigError(f"cannot write {text}: {target} {why}", "pick a path in a folder you can write to")
    return path


def output_file(suffix: str = ".json", stdout: bool = False) -> Callable[[str], str]:
    """A ``type=`` for a file to write, checked at parse time; with ``stdout``, '-' (standard output) too."""

    def parse(text: str) -> str:
        if text == "-":
            if stdout:
                return text
            raise argparse.ArgumentTypeError("'-' (standard output) is not accepted here\n  fix: pass a file path")
        try:
            check_output(text, suffix)
        except ConfigError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
        return text

    parse.__name__ = "output file"
    return parse


def store_file(folder_must_exist: bool = False) -> Callable[[str], str]:
    """A ``type=`` for ``--store``: a path that is not empty (an empty one would be read as ./wattprint.db, or
    fail only when the first result is stored); with ``folder_must_exist``, in a folder that is there."""

    def parse(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError("the store path is empty\n  fix: pass a file name, e.g. --store runs.db")
        folder = Path(text).parent
        if folder_must_exist and not folder.exists():
            raise argparse.ArgumentTypeError(f"the folder {folder} does not exist\n"
                                             f"  fix: create it (mkdir -p {folder}) or pick another path")
        if folder_must_exist and not folder.is_dir():
            raise argparse.ArgumentTypeError(f"{folder} is not a folder\n  fix: pick a path inside a folder")
        return text

    parse.__name__ = "store file"
    return parse


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """True when both paths name one existing file (an output must never overwrite the store it reads)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


class OutputError(WattprintError):
    """A result that could not be written where asked; ``kept`` is where it was saved instead (or None)."""

    def __init__(self, message: str, fix: str | None, kept: str | None) -> None:
        super().__init__(message, fix)
        self.kept = kept


def _replace_into(target: Path, write: Callable[[Path], None]) -> None:
    """Write through a sibling temporary file renamed over ``target``, so a failed write leaves any old file
    whole; devices and pipes (``/dev/stdout``), and files in a folder this user cannot add to, are written
    directly."""
    if target.exists() and not target.is_file() or not _can_write(target.parent):
        write(target)
        return
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        if target.exists():
            shutil.copymode(target, tmp)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def write_output(path: str | os.PathLike[str], write: Callable[[Path], None] | str, *, what: str = "result",
                 suffix: str = "") -> Path:
    """Write ``what`` to ``path`` with ``write(path)`` (or the text ``write``).

    If that fails (disk full, permission changed since the check), the result is written to a temporary file
    instead and :class:`OutputError` says where; if even that fails and ``write`` is text, the text goes to
    standard error so it is not lost.
    """
    writer = _text_writer(write) if isinstance(write, str) else write
    target = Path(path)
    try:
        _replace_into(target, writer)
        if target.is_file():
            remember(target)
        return target
    except OSError as e:
        reason = e.strerror or str(e)
    kept = _keep(writer, target.suffix or suffix)
    if kept is not None:
        raise OutputError(f"cannot write {path} ({reason}); the {what} was kept in {kept}",
                          f"free space or fix permissions, or move {kept} where you want it", kept)
    if isinstance(write, str):
        sys.stderr.write(write if write.endswith("\n") else write + "\n")
        raise OutputError(f"cannot write {path} ({reason}) nor a temporary file; the {what} is printed above",
                          "free space or fix permissions, then run again", None)
    raise OutputError(f"cannot write {path} ({reason}) nor a temporary file", "free space or fix permissions", None)


def _text_writer(text: str) -> Callable[[Path], None]:
    def write(p: Path) -> None:
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)
    return write


def _keep(write: Callable[[Path], None], suffix: str) -> str | None:
    fd, name = tempfile.mkstemp(prefix="wattprint-", suffix=suffix)
    os.close(fd)
    try:
        write(Path(name))
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(name)
        return None
    return name


# ---- devices ------------------------------------------------------------------------------------
def require_device(device: str | None) -> None:
    """ConfigError when ``device`` (cuda, cuda:N, mps) does not exist here; imports torch only for those."""
    if not device or device in ("auto", "cpu"):
        return
    try:
        import torch
    except ImportError:
        raise ConfigError(f"--device {device} needs torch, which is not installed",
                          "pip install 'wattprint[bench]'") from None
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(CUDA_MISSING, CUDA_FIX)
        index = int(device.partition(":")[2] or 0)
        count = torch.cuda.device_count()
        if index >= count:
            raise ConfigError(f"--device {device}: this machine has {count} CUDA device(s)",
                              f"use --device cuda:0 .. cuda:{count - 1}")
    elif device == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("MPS (Apple GPU) is not available on this machine", "use --device cpu")


# ---- argparse errors ----------------------------------------------------------------------------
def _error(self: argparse.ArgumentParser, message: str) -> NoReturn:
    text, _, fix = message.partition("\n  fix: ")
    if not fix and " not allowed with argument " in text:  # a mutually exclusive group
        fix = "give only one of the two"
    self.exit(2, f"{self.prog}: error: {text}\n  fix: {fix or f'see {self.prog} --help'}\n")


def _check_value(self: argparse.ArgumentParser, action: argparse.Action, value: Any) -> None:
    """argparse's check of a value against ``choices`` (a command name too), with the close matches."""
    from wattprint.core.errors import close_matches

    if action.choices is None or value in action.choices:
        return
    names = [str(c) for c in action.choices]
    hits = close_matches(str(value), names)
    said = f"invalid choice {value!r}" + (f"; did you mean {', '.join(repr(h) for h in hits)}?" if hits else "")
    raise argparse.ArgumentError(action, f"{said}\n  fix: pass one of: {', '.join(names)}")


def one_line_errors(parser: argparse.ArgumentParser) -> None:
    """Make ``parser`` report a bad flag as one error line and a fix line, without the usage dump; a value
    that is not one of the flag's choices gets the close matches."""
    parser.error = types.MethodType(_error, parser)  # type: ignore[method-assign]
    parser._check_value = types.MethodType(_check_value, parser)  # type: ignore[method-assign]


def _not_empty(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("the value is empty\n  fix: give a value, or leave the flag out")
    return text


def refuse_empty(parser: argparse.ArgumentParser) -> None:
    """Every flag of ``parser`` that takes free text refuses an empty value (``--country ""`` would otherwise
    read as "not given" and fall back silently). Flags with their own ``type`` or ``choices`` check their
    values themselves; a flag whose default is the empty string keeps accepting it."""
    for action in parser._actions:
        if (action.option_strings and action.nargs != 0 and action.type is None and action.choices is None
                and action.default != ""):
            action.type = _not_empty


def misspelt_options(parser: argparse.ArgumentParser, words: list[str]) -> str:
    """``"; did you mean --kwh?"`` for the unrecognized ``words`` that look like a misspelt option of
    ``parser`` (compared without their dashes, so the shared ``--`` does not make every option look close),
    or ``""``."""
    import difflib

    options = {o.lstrip("-"): o for a in parser._actions for o in a.option_strings if o.startswith("--")}
    hits: list[str] = []
    for word in words:
        if word.startswith("-") and word.strip("-"):
            name = word.split("=", 1)[0].lstrip("-")
            hits += [options[h] for h in difflib.get_close_matches(name, list(options), n=3, cutoff=0.75)]
    hits = list(dict.fromkeys(hits))
    return f"; did you mean {' or '.join(hits)}?" if hits else ""


def check_store(path: str | os.PathLike[str], fix: str) -> None:
    """ConfigError (one line and ``fix``) when the store file to read does not exist, or is a folder."""
    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"the store {path} is a folder, not a store file",
                          f"pass the store's file, e.g. --store {p / 'wattprint.db'}")
    if not p.exists():
        raise ConfigError(f"no store at {path}: the file does not exist", fix)
