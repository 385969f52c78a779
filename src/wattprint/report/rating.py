"""Star ratings: each task's energy range cut into five equal bands, 5 stars for the most frugal.

Bands are equal in **log space** by default: energies per task span two to four orders of magnitude,
so linear bands would put nearly every model in the top band and leave the others to one or two
outliers. ``scale="linear"`` gives linear bands for those who want them.
Text generation is rated within size classes (<= 20B, <= 66B, larger parameters), so a 7B model
is compared with its peers, not with a 176B one; a model of unknown size gets its own class.
Models are rated only against models measured under the same protocol (preset, shrunk or full-size; see
:mod:`wattprint.report.comparable`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

from wattprint.report.aggregate import ModelRow

SCALES = ("log", "linear")

# task -> ((upper bound in parameters, label), ...), ascending. Data, not branches: add a task here.
SIZE_CLASSES: dict[str, tuple[tuple[float, str], ...]] = {
    "text-generation": ((20e9, "≤ 20B"), (66e9, "≤ 66B"), (math.inf, "> 66B")),
}
ALL = "all models"
UNKNOWN_SIZE = "size unknown"


def rating_class(task: str, parameters: int | None) -> str:
    classes = SIZE_CLASSES.get(task)
    if not classes:
        return ALL
    if not parameters:
        return UNKNOWN_SIZE
    return next(label for bound, label in classes if parameters <= bound)


def stars_for(value: float, lo: float, hi: float, scale: str = "log") -> int:
    """1..5 stars for ``value`` within [lo, hi] (same unit, all > 0 for the log scale)."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}")
    if scale == "log":
        value, lo, hi = math.log10(value), math.log10(lo), math.log10(hi)
    if hi <= lo:
        return 5  # one model, or all equal: nothing to be worse than
    band = min(int((value - lo) / (hi - lo) * 5), 4)  # the top edge belongs to the last band
    return 5 - band


def band_edges(lo: float, hi: float, scale: str = "log") -> list[float]:
    """The six edges of the five bands, lo first (for the legend)."""
    if scale == "log":
        a, b = math.log10(lo), math.log10(hi)
        return [10 ** (a + (b - a) * i / 5) for i in range(6)]
    return [lo + (hi - lo) * i / 5 for i in range(6)]


def rate(rows: Sequence[ModelRow], scale: str = "log") -> None:
    """Set ``stars`` and ``rating_class`` on every row, in place."""
    groups: dict[tuple[str, object, str], list[ModelRow]] = defaultdict(list)
    for row in rows:
        row.rating_class = rating_class(row.task, row.parameters)
        groups[(row.task, row.comparable.protocol, row.rating_class)].append(row)
    for members in groups.values():
        values = [m.kwh for m in members]
        lo, hi = min(values), max(values)
        usable = scale == "linear" or lo > 0
        for m in members:
            m.stars = stars_for(m.kwh, lo, hi, scale) if usable else stars_for(m.kwh, lo, hi, "linear")
