"""Plain-text tables for terminals and logs: left-aligned columns two spaces apart (every command's tables)."""

from __future__ import annotations

from collections.abc import Sequence


def aligned(rows: Sequence[Sequence[str]], *, indent: str = "", min_widths: Sequence[int] = (),
            rule: bool = False, free_last: bool = False) -> list[str]:
    """``rows`` (the first is the header) as lines of aligned cells, trailing spaces stripped.

    ``min_widths`` keeps columns at least that wide (a table printed a row at a time stays aligned);
    ``rule`` draws dashes under the header; ``free_last`` leaves the last column unpadded and out of the widths
    (a long reason or description)."""
    if not rows:
        return []
    n = len(rows[0]) - (1 if free_last else 0)
    widths = [max([min_widths[i] if i < len(min_widths) else 0, *(len(r[i]) for r in rows)]) for i in range(n)]
    lines = []
    for k, row in enumerate(rows):
        cells = [c.ljust(w) for c, w in zip(row, widths)] + (list(row[n:]) if free_last else [])
        lines.append((indent + "  ".join(cells)).rstrip())
        if rule and k == 0:
            lines.append(indent + "  ".join("-" * w for w in widths))
    return lines
