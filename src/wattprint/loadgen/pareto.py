"""Energy against latency across levels: the Pareto frontier, and the level to pick for a latency target.

A level is on the frontier when no other level has both lower energy per output token and lower latency.
For a target such as ``e2e_p95=2.0`` (seconds), the pick is the level with the least energy per output
token among those that meet it; a level that was interrupted, had failures, or saturated its client is not
picked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wattprint.core.errors import ConfigError, UnknownNameError

METRICS = {f"{m}_{p}": (f"{m}_s", p) for m in ("ttft", "itl", "e2e") for p in ("p50", "p95", "p99")}


@dataclass(frozen=True)
class LatencyTarget:
    metric: str  # "e2e_p95"
    seconds: float

    @classmethod
    def parse(cls, text: str) -> LatencyTarget:
        name, sep, value = text.partition("=")
        if name not in METRICS:
            raise UnknownNameError("latency metric", name, METRICS, fix="e.g. --latency-target e2e_p95=2.0")
        try:
            seconds = float(value)
        except ValueError as e:
            raise ConfigError(f"--latency-target {text!r}: {value!r} is not a number of seconds",
                              fix="e.g. --latency-target ttft_p95=0.5") from e
        if not sep or seconds <= 0:
            raise ConfigError(f"--latency-target {text!r} needs METRIC=SECONDS", fix="e.g. e2e_p95=2.0")
        return cls(name, seconds)

    def __str__(self) -> str:
        return f"{self.metric} <= {self.seconds:g} s"


def latency_of(summary: dict[str, Any], metric: str) -> float | None:
    key, p = METRICS[metric]
    return summary["latency"][key][p]


def energy_of(summary: dict[str, Any]) -> float | None:
    return summary["per"]["j_per_output_token"]


def usable(summary: dict[str, Any]) -> bool:
    return (not summary["interrupted"] and not summary["failures"]["failed"] and not summary["client"]["saturated"]
            and energy_of(summary) is not None)


def points(summaries: Sequence[dict[str, Any]], metric: str,
           only_usable: bool = True) -> list[tuple[float, float, int]]:
    """(latency, J per output token, index) of the levels that have both."""
    out = []
    for i, s in enumerate(summaries):
        x, y = latency_of(s, metric), energy_of(s)
        if x is not None and y is not None and x > 0 and y > 0 and (usable(s) or not only_usable):
            out.append((x, y, i))
    return out


def frontier(summaries: Sequence[dict[str, Any]], metric: str) -> list[int]:
    """Indices of the levels on the energy-latency Pareto frontier, by increasing latency."""
    out: list[int] = []
    best = float("inf")
    for _x, y, i in sorted(points(summaries, metric)):
        if y < best:
            out.append(i)
            best = y
    return out


def pick(summaries: Sequence[dict[str, Any]], target: LatencyTarget) -> int | None:
    """The level with the least energy per output token that meets ``target``; None when none does."""
    ok = [(y, i) for x, y, i in points(summaries, target.metric) if x <= target.seconds]
    return min(ok)[1] if ok else None
