"""Small statistics for reports, stdlib only: mean, sample std, t confidence interval, median, Pearson r.

The runner's statistics live in :mod:`wattprint.bench.stats`; these are the ones a report needs over
already-finished records, kept here so a report never imports the bench machinery.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

# Two-sided 95 % Student t critical values t(0.975, df) for df = 1..30.
# Source: NIST/SEMATECH e-Handbook of Statistical Methods, table 1.3.6.7.2 (upper critical values of t).
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)


def t_critical_95(df: int) -> float:
    """t(0.975, df); beyond the table a Cornish-Fisher expansion around z (error < 1e-3 for df > 30)."""
    if df < 1:
        raise ValueError("a confidence interval needs at least two values (df >= 1)")
    if df <= len(_T975):
        return _T975[df - 1]
    z = 1.959964
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


@dataclass(frozen=True)
class Summary:
    """Mean, sample standard deviation and 95 % t interval of the mean of ``n`` values (same unit)."""

    n: int
    mean: float
    std: float | None  # None for a single value
    ci_low: float | None
    ci_high: float | None

    @property
    def ci_half_width(self) -> float | None:
        return None if self.ci_high is None else self.ci_high - self.mean


def summarize(values: Sequence[float]) -> Summary:
    """Summary of ``values`` (at least one). One value has no spread: std and CI are None, not 0."""
    if not values:
        raise ValueError("no values to summarise")
    n = len(values)
    mean = statistics.fmean(values)
    if n == 1:
        return Summary(1, mean, None, None, None)
    std = statistics.stdev(values)
    half = t_critical_95(n - 1) * std / math.sqrt(n)
    return Summary(n, mean, std, mean - half, mean + half)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson's r, or None with fewer than three pairs or no variance (r is then undefined)."""
    if len(xs) != len(ys):
        raise ValueError("pearson needs pairs")
    if len(xs) < 3:
        return None
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def log_pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson's r of log10(x) against log10(y), over the pairs where both are positive."""
    pairs = [(math.log10(x), math.log10(y)) for x, y in zip(xs, ys) if x and y and x > 0 and y > 0]
    if not pairs:
        return None
    return pearson([p[0] for p in pairs], [p[1] for p in pairs])
