"""What the notebook views share: HTML tables with every cell escaped, and pandas loaded only when asked for.

Jupyter calls ``_repr_html_`` on the last value of a cell; these helpers build that HTML from plain text, so a
model name or a warning can never inject markup. pandas is imported here, inside :func:`require_pandas`, never
at module level: ``import wattprint`` stays free of it.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any

from wattprint.core.errors import ConfigError

STYLE = "border-collapse:collapse;font-size:0.9em"


def esc(value: Any) -> str:
    """``value`` as HTML text: numbers to 4 significant digits, None as a dash, everything escaped."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return html.escape(f"{value:.4g}")
    return html.escape(str(value), quote=True)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], caption: str = "") -> str:
    head = "".join(f"<th style='text-align:left;padding:2px 8px'>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td style='padding:2px 8px'>{esc(c)}</td>" for c in row) + "</tr>"
                   for row in rows)
    cap = f"<caption style='text-align:left'>{esc(caption)}</caption>" if caption else ""
    return f"<table style='{STYLE}'>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def notes(lines: Iterable[str]) -> str:
    items = "".join(f"<li>{esc(line)}</li>" for line in lines)
    return f"<ul style='margin:4px 0'>{items}</ul>" if items else ""


def require_pandas(what: str) -> Any:
    """The pandas module, or one :class:`ConfigError` naming the extra that installs it."""
    try:
        import pandas
    except ImportError:
        raise ConfigError(f"{what} needs pandas, which is not installed", "pip install 'wattprint[pandas]'") from None
    return pandas
