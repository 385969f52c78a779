"""Number formatting for people: significant digits, never a bare float with 17 digits."""

from __future__ import annotations

import math

SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def sig(x: float | None, digits: int = 3) -> str:
    """``x`` to ``digits`` significant digits; scientific (×10ⁿ) below 0.001 or at 1e6 and above."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if x == 0:
        return "0"
    if 1e-3 <= abs(x) < 1e6:
        return f"{x:,.{digits}g}" if abs(x) >= 1 else f"{x:.{digits}g}"
    mant, exp = f"{x:.{digits - 1}e}".split("e")
    return f"{mant}×10{str(int(exp)).translate(SUPERSCRIPT)}"


def energy_short(kwh: float | None) -> str:
    return sig(kwh, 3)


def plain(x: float | None, digits: int = 4) -> str:
    """Machine-readable and short (CSV, Markdown): 4 significant digits, e notation when small."""
    if x is None:
        return ""
    return f"{x:.{digits}g}"


def params_short(n: int | None) -> str:
    if not n:
        return "n/a"
    for div, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if n >= div:
            return f"{n / div:.3g}{suffix}"
    return str(n)


def stars(n: int | None) -> str:
    if n is None:
        return "n/a"
    return "★" * n + "☆" * (5 - n)


def count(n: float) -> str:
    """A large count for prose: 592,570,000 -> "592.6 million"."""
    for div, word in ((1e12, "trillion"), (1e9, "billion"), (1e6, "million")):
        if abs(n) >= div:
            return f"{n / div:,.1f} {word}"
    return f"{n:,.0f}"


def spread_label(ratio: float) -> str:
    """Most / least as "×1.3", "×25", "×1,200"."""
    if ratio == float("inf"):
        return "×∞"
    return f"×{ratio:.1f}" if ratio < 10 else f"×{ratio:,.0f}"
