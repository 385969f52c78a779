"""Statistics over repeats and batches, with the standard library only (no scipy in the core).

The 95% confidence interval of a mean uses Student's t distribution. Its quantile is computed here
by inverting the t CDF, written through the regularised incomplete beta function (evaluated by its
continued fraction; Abramowitz & Stegun 26.5.8 and 26.7.1) and bisection. A few values to check by:
t(0.975, 1) = 12.706, t(0.975, 9) = 2.262, t(0.975, 29) = 2.045 (any printed t table).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz's method)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def regularized_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b), the regularised incomplete beta function, for 0 <= x <= 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_continued_fraction(a, b, x) / a
    return 1.0 - front * _beta_continued_fraction(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with ``df`` degrees of freedom."""
    x = df / (df + t * t)
    tail = 0.5 * regularized_beta(df / 2.0, 0.5, x)
    return 1.0 - tail if t >= 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom (0 < p < 1), by bisection."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p}")
    if df <= 0:
        raise ValueError(f"degrees of freedom must be positive, got {df}")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12 * max(1.0, hi):
            break
    return 0.5 * (lo + hi)


@dataclass(frozen=True)
class Summary:
    """Mean, sample standard deviation and a confidence interval of the mean over ``n`` values.

    With one value, ``std`` and the interval are None: one repeat says nothing about spread.
    """

    n: int
    mean: float
    std: float | None
    ci_low: float | None
    ci_high: float | None
    confidence: float = 0.95

    @property
    def ci_half_width(self) -> float | None:
        return None if self.ci_high is None else self.ci_high - self.mean

    def to_dict(self) -> dict[str, float | int | None]:
        return {
            "n": self.n,
            "mean": self.mean,
            "std": self.std,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "confidence": self.confidence,
        }


def summarize(values: Sequence[float], confidence: float = 0.95) -> Summary:
    """Mean, sample std (n-1) and the t-based ``confidence`` interval of the mean of ``values``."""
    vals = [float(v) for v in values]
    if not vals:
        raise ValueError("cannot summarise no values")
    mean = statistics.fmean(vals)
    if len(vals) < 2:
        return Summary(len(vals), mean, None, None, None, confidence)
    std = statistics.stdev(vals)
    half = t_quantile(0.5 + confidence / 2.0, len(vals) - 1) * std / math.sqrt(len(vals))
    return Summary(len(vals), mean, std, mean - half, mean + half, confidence)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` percentile (0..100) by linear interpolation between closest ranks."""
    if not values:
        raise ValueError("no values")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"q must be in [0, 100], got {q}")
    s = sorted(float(v) for v in values)
    pos = (len(s) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)
