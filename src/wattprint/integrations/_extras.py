"""Lazy imports of the tracker libraries, with one line naming the extra when one is missing."""

from __future__ import annotations

import importlib
from types import ModuleType

from wattprint.core.errors import ConfigError


def require(module: str, extra: str, what: str) -> ModuleType:
    """Import ``module`` or raise a ConfigError that names ``pip install 'wattprint[extra]'``."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        top = module.split(".")[0]
        raise ConfigError(f"{what} needs the {top!r} package, which is not installed ({e})",
                          fix=f"pip install 'wattprint[{extra}]'") from None
