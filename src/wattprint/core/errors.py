"""One error hierarchy. Every error can carry a fix hint that the CLI prints under the message."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class WattprintError(Exception):
    """Base of every error wattprint raises on purpose.

    ``fix`` says what the user can do about it; the CLI prints it on its own line.
    """

    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return self.message if not self.fix else f"{self.message}\n  fix: {self.fix}"


class ConfigError(WattprintError):
    """A setting, flag or file that cannot be used as given."""


class UnknownNameError(ConfigError):
    """A name (task, model, country, preset...) that is not known; suggests close matches."""

    def __init__(self, kind: str, name: str, known: Iterable[str], fix: str | None = None) -> None:
        known = list(known)
        matches = close_matches(name, known)
        msg = f"unknown {kind} {name!r}"
        if matches:
            msg += f"; did you mean {', '.join(repr(m) for m in matches)}?"
        super().__init__(msg, fix)
        self.kind = kind
        self.name = name
        self.matches = matches


class BackendUnavailable(WattprintError):
    """An energy source that cannot be read on this machine (and why, and how to fix it)."""


class PermissionDeniedError(BackendUnavailable):
    """An energy source that exists but that this user may not read."""


class DeviceLostError(WattprintError):
    """A device that answered at the start of a window and stopped answering during it."""


def close_matches(name: str, known: Iterable[str], n: int = 3) -> list[str]:
    """Close matches for ``name`` among ``known``, case-insensitively, best first."""
    known = list(known)
    lowered = {k.lower(): k for k in known}
    hits = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.5)
    # substring matches help for hub ids ("bert" -> "bert-base-uncased")
    for k in known:
        if len(hits) >= n:
            break
        if name.lower() in k.lower() and k.lower() not in hits:
            hits.append(k.lower())
    return [lowered[h] for h in hits][:n]
