"""How much a command says on stderr: ``--quiet``, the default, or ``--verbose``.

- results (tables, JSON, files written) are always printed;
- wattprint's own notes go through the ``wattprint`` logger: fallbacks and retries at INFO or WARNING are
  shown by default, everything but warnings and errors is hidden by ``--quiet``, and ``--verbose`` adds DEBUG;
- the ML and cluster libraries' own log lines, Python warnings and weight-loading bars (transformers,
  diffusers, huggingface_hub, Ray, torch) are hidden unless ``--verbose``. They are set through the libraries'
  documented environment variables (read when each library is imported, so also by Ray workers) and, for a
  library already imported, through its logger.

Everything is restored when the command returns, so ``main()`` can be called again in one process.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from collections.abc import Iterator

QUIET, NORMAL, VERBOSE = "quiet", "normal", "verbose"

LIBRARY_LOGGERS = ("transformers", "diffusers", "huggingface_hub", "datasets", "accelerate", "torch", "ray",
                   "urllib3", "filelock", "PIL", "matplotlib", "httpx", "asyncio")
# Each library's documented switch for its log level and its progress bars (read at import).
LIBRARY_ENV = {
    "TRANSFORMERS_VERBOSITY": "error",
    "DIFFUSERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
    "HF_HUB_VERBOSITY": "error",
}
LIBRARY_WARNINGS = r"(torch|transformers|diffusers|huggingface_hub|datasets|accelerate|ray|timm)(\.|$)"


class _Formatter(logging.Formatter):
    """``wattprint: text`` for notes, ``wattprint: warning: text`` for warnings and above."""

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage().removeprefix("wattprint: ")
        if record.exc_info:  # log.exception: a failure nobody planned for keeps its traceback
            text += "\n" + self.formatException(record.exc_info)
        if record.levelno >= logging.WARNING:
            return f"wattprint: {record.levelname.lower()}: {text}"
        return f"wattprint: {text}"


def level_of(verbose: bool, quiet: bool) -> str:
    return VERBOSE if verbose else QUIET if quiet else NORMAL


@contextlib.contextmanager
def configured(level: str, *, library_env: bool = True) -> Iterator[None]:
    """Set wattprint's and the libraries' logging for one command, and undo it afterwards.

    ``library_env=False`` leaves the environment alone (``wattprint measure``: the measured command
    inherits it and must see it as the user set it).
    """
    with contextlib.ExitStack() as stack:
        stack.enter_context(_wattprint_logger(level))
        if level != VERBOSE:
            stack.enter_context(_quiet_libraries(library_env))
        yield


@contextlib.contextmanager
def _wattprint_logger(level: str) -> Iterator[None]:
    logger = logging.getLogger("wattprint")
    handler = logging.StreamHandler(_Stderr())
    handler.setFormatter(_Formatter())
    old_level = logger.level
    logger.setLevel({QUIET: logging.WARNING, NORMAL: logging.INFO, VERBOSE: logging.DEBUG}[level])
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


class _Stderr:
    """Whatever ``sys.stderr`` is at the time of writing (tests swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


@contextlib.contextmanager
def _quiet_libraries(library_env: bool) -> Iterator[None]:
    saved_env = {k: os.environ.get(k) for k in LIBRARY_ENV} if library_env else {}
    for k, v in saved_env.items():
        if v is None:  # a value the user set wins
            os.environ[k] = LIBRARY_ENV[k]
    saved_levels = {name: logging.getLogger(name).level for name in LIBRARY_LOGGERS}
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    bars = _ImportedBars()
    if "HF_HUB_DISABLE_PROGRESS_BARS" not in saved_env or saved_env["HF_HUB_DISABLE_PROGRESS_BARS"] is None:
        bars.disable()
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", module=LIBRARY_WARNINGS)
            yield
    finally:
        bars.restore()
        for name, lvl in saved_levels.items():
            logging.getLogger(name).setLevel(lvl)
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)


class _ImportedBars:
    """The progress bars of libraries imported before the command started (the environment no longer
    reaches them): turned off, and back on afterwards if they were on."""

    def __init__(self) -> None:
        self._undo: list[object] = []

    def disable(self) -> None:
        tf = sys.modules.get("transformers.utils.logging")
        if tf is not None and tf.is_progress_bar_enabled():
            tf.disable_progress_bar()
            self._undo.append(tf.enable_progress_bar)
        hub = sys.modules.get("huggingface_hub.utils.tqdm")
        if hub is not None and not hub.are_progress_bars_disabled():
            hub.disable_progress_bars()
            self._undo.append(hub.enable_progress_bars)

    def restore(self) -> None:
        for undo in self._undo:
            undo()  # type: ignore[operator]
        self._undo.clear()
