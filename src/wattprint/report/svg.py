"""Hand-built SVG: a few primitives and a log axis. Every piece of text goes through ``esc``.

Charts are inline ``<svg>`` with a viewBox, so they scale to the page (a phone included) and need
nothing at view time: no script, no font download, no network.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass

SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif"


def esc(text: object) -> str:
    """Escape text for an SVG/HTML text node or a double-quoted attribute."""
    return html.escape(str(text), quote=True)


def slug(text: object) -> str:
    """A safe, stable id fragment for any text (ids must not depend on object addresses)."""
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "x"


def pow10_label(exp: int) -> str:
    if 0 <= exp <= 3:
        return f"{10 ** exp:g}"
    return "10" + str(exp).translate(SUPERSCRIPT)


@dataclass(frozen=True)
class LogAxis:
    """Maps a positive value onto [start, stop] pixels on whole decades."""

    lo_exp: int
    hi_exp: int
    start: float
    stop: float

    @classmethod
    def fit(cls, values: list[float], start: float, stop: float) -> LogAxis:
        pos = [v for v in values if v > 0]
        if not pos:
            return cls(0, 1, start, stop)
        lo = math.floor(math.log10(min(pos)))
        hi = math.ceil(math.log10(max(pos)))
        if hi == lo:
            hi += 1
        return cls(lo, hi, start, stop)

    def __call__(self, value: float) -> float:
        frac = (math.log10(value) - self.lo_exp) / (self.hi_exp - self.lo_exp)
        return self.start + frac * (self.stop - self.start)

    def decades(self) -> range:
        return range(self.lo_exp, self.hi_exp + 1)

    def minor_ticks(self) -> list[float]:
        return [m * 10**e for e in range(self.lo_exp, self.hi_exp) for m in range(2, 10)]


@dataclass(frozen=True)
class LinearAxis:
    lo: float
    hi: float
    start: float
    stop: float

    def __call__(self, value: float) -> float:
        span = (self.hi - self.lo) or 1.0
        return self.start + (value - self.lo) / span * (self.stop - self.start)


def text(x: float, y: float, s: object, *, size: int = 12, anchor: str = "start", cls: str = "",
         weight: str = "normal", fill: str = "currentColor", extra: str = "") -> str:
    c = f' class="{cls}"' if cls else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" font-weight="{weight}" '
            f'fill="{fill}"{c}{extra}>{esc(s)}</text>')


def line(x1: float, y1: float, x2: float, y2: float, stroke: str = "#cbd5e1", width: float = 1,
         dash: str = "") -> str:
    d = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{stroke}" '
            f'stroke-width="{width}"{d}/>')


def marker(x: float, y: float, r: float, fill: str, shape: str, tip: str, cls: str = "pt") -> str:
    """A dot (circle) or a diamond, with a hover tooltip (``<title>``, escaped)."""
    title = f"<title>{esc(tip)}</title>"
    common = f'fill="{fill}" fill-opacity="0.85" stroke="#fff" stroke-width="1.2"'
    if shape == "diamond":
        k = r * 1.35
        pts = f"{x:.1f},{y - k:.1f} {x + k:.1f},{y:.1f} {x:.1f},{y + k:.1f} {x - k:.1f},{y:.1f}"
        return f'<polygon class="{cls}" points="{pts}" {common}>{title}</polygon>'
    return f'<circle class="{cls}" cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" {common}>{title}</circle>'


def svg(width: int, height: int, body: list[str], label: str) -> str:
    return (f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{esc(label)}" '
            f'xmlns="http://www.w3.org/2000/svg" style="{FONT}" preserveAspectRatio="xMidYMid meet">'
            f'<title>{esc(label)}</title>' + "".join(body) + "</svg>")


def log_grid_x(ax: LogAxis, top: float, bottom: float, label_y: float) -> list[str]:
    """Vertical decade lines with labels, and faint minor lines, for a horizontal log axis."""
    out = [line(ax(v), top, ax(v), bottom, "#eef2f7") for v in ax.minor_ticks()]
    for e in ax.decades():
        x = ax(10.0**e)
        out.append(line(x, top, x, bottom, "#d5dde8"))
        out.append(text(x, label_y, pow10_label(e), size=11, anchor="middle", fill="#5b6b7f"))
    return out


def log_grid_y(ax: LogAxis, left: float, right: float, label_x: float) -> list[str]:
    out = [line(left, ax(v), right, ax(v), "#eef2f7") for v in ax.minor_ticks()]
    for e in ax.decades():
        y = ax(10.0**e)
        out.append(line(left, y, right, y, "#d5dde8"))
        out.append(text(label_x, y + 4, pow10_label(e), size=11, anchor="end", fill="#5b6b7f"))
    return out
