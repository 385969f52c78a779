"""The report's charts as inline SVG strings (see :mod:`wattprint.report.svg`)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from wattprint.report.aggregate import ModelRow
from wattprint.report.build import Report
from wattprint.report.fmt import energy_short, params_short
from wattprint.report.summary import TaskSummary
from wattprint.report.svg import LinearAxis, LogAxis, line, log_grid_x, log_grid_y, marker, slug, svg, text

KIND_COLORS = {"task-specific": "#0e9f6e", "general-purpose": "#e0703a", "unknown": "#6b7c93"}
KIND_LABELS = {"task-specific": "task-specific", "general-purpose": "general-purpose", "unknown": "other"}


def color(kind: str) -> str:
    return KIND_COLORS.get(kind, KIND_COLORS["unknown"])


def shape(row: ModelRow) -> str:
    return "diamond" if "codecarbon" in row.origins else "circle"


def tip(row: ModelRow) -> str:
    p = f", {params_short(row.parameters)} parameters" if row.parameters else ""
    shrunk = f" SHRUNK ({row.shrunk}):" if row.shrunk else ""
    return (f"{row.model} ({row.preset}{p}):{shrunk} {energy_short(row.kwh)} kWh per 1,000 inferences, "
            f"{row.runs} run(s), {row.weights} weights, {row.origin}")


def dot(x: float, y: float, r: float, row: ModelRow) -> str:
    """A row's marker; a shrunk run's is hollow (outline only), so it is never read as a full-size figure."""
    m = marker(x, y, r, color(row.model_kind), shape(row), tip(row))
    if not row.shrunk:
        return m
    return m.replace(f'fill="{color(row.model_kind)}" fill-opacity="0.85" stroke="#fff"',
                     f'fill="#fff" fill-opacity="1" stroke="{color(row.model_kind)}"', 1)


def _swarm(xs: list[float], gap: float, limit: float) -> list[float]:
    """Vertical offsets so that dots within ``gap`` px of each other do not sit on one another."""
    placed: list[tuple[float, float]] = []
    offsets = [0.0] + [s * k * gap * 0.9 for k in range(1, 40) for s in (-1, 1)]
    out = []
    for x in xs:
        for off in offsets:
            if abs(off) > limit:
                off = 0.0
                break
            if all((x - px) ** 2 + (off - py) ** 2 >= gap**2 for px, py in placed):
                break
        placed.append((x, off))
        out.append(off)
    return out


def _legend(x: float, y: float, rows: Sequence[ModelRow]) -> list[str]:
    out = []
    kinds = [k for k in KIND_COLORS if any(r.model_kind == k or (k == "unknown" and r.model_kind not in KIND_COLORS)
                                          for r in rows)]
    for k in kinds:
        out.append(marker(x + 5, y - 4, 5, color(k), "circle", KIND_LABELS[k], "legend"))
        out.append(text(x + 14, y, KIND_LABELS[k], size=12, fill="#334155"))
        x += 24 + 7 * len(KIND_LABELS[k])
    if any("codecarbon" in r.origins for r in rows):
        out.append(marker(x + 5, y - 4, 5, "#94a3b8", "diamond", "imported from CodeCarbon", "legend"))
        out.append(text(x + 14, y, "imported (CodeCarbon)", size=12, fill="#334155"))
        x += 24 + 7 * len("imported (CodeCarbon)")
    if any(r.shrunk for r in rows):
        out.append(f'<circle class="legend" cx="{x + 5:.1f}" cy="{y - 4:.1f}" r="5" fill="#fff" stroke="#64748b" '
                   'stroke-width="1.2"><title>shrunk run</title></circle>')
        out.append(text(x + 14, y, "shrunk run (not comparable)", size=12, fill="#334155"))
    return out


def _lane_summary(report: Report, task: str) -> TaskSummary:
    """The summary whose median a task's lane shows: the first headline's protocol where it has the task."""
    mine = [t for t in report.tasks if t.task == task]
    first = report.headlines[0].key.protocol if report.headlines else None
    return next((t for t in mine if t.protocol == first and t.main), next((t for t in mine if t.main), mine[0]))


def strip_chart(report: Report) -> str:
    """Every model's kWh per 1,000 inferences, one lane per task (in the first headline's order), log scale."""
    order = report.task_order()
    width, left, right, top, lane = 880, 236, 28, 44, 56
    height = top + lane * len(order) + 52
    ax = LogAxis.fit([r.kwh for r in report.rows], left, width - right)
    body = log_grid_x(ax, top, height - 44, height - 28)
    body.append(text((left + width - right) / 2, height - 8,
                     "kWh per 1,000 inferences (log scale)", size=12, anchor="middle", fill="#334155"))
    body += _legend(left, 22, report.rows)
    for i, task in enumerate(order):
        body += _strip_lane(report.rows_of(task), _lane_summary(report, task), ax, top + i * lane, lane, left,
                            width - right)
    return svg(width, height, body, "Energy per 1,000 inferences of every model, by task, log scale")


def _strip_lane(rows: list[ModelRow], t: TaskSummary, ax: LogAxis, y0: float, lane: float,
                left: float, right: float) -> list[str]:
    """One task's lane: every row as a dot; the bar is the median of ``t``'s primary kind (said on hover)."""
    mid = y0 + lane / 2
    out = [f'<rect x="{left:.1f}" y="{y0 + 3:.1f}" width="{right - left:.1f}" height="{lane - 6:.1f}" '
           f'rx="6" fill="#f6f8fb" fill-opacity="0.7"/>']
    title = t.title if len(t.title) <= 30 else t.title[:29] + "…"
    out.append(text(left - 12, mid - 2, title, size=13, anchor="end", weight="600", fill="#0f172a"))
    n = len({r.model for r in rows})
    sub = f"{n} model{'s' if n != 1 else ''}" + (" · shrunk" if all(r.shrunk for r in rows) else "")
    out.append(text(left - 12, mid + 14, sub, size=11, anchor="end", fill="#64748b"))
    if t.main is not None:
        xm = ax(t.main.median)
        out.append(f'<line x1="{xm:.1f}" y1="{y0 + 8:.1f}" x2="{xm:.1f}" y2="{y0 + lane - 8:.1f}" stroke="#0f172a" '
                   f'stroke-width="2.5" stroke-linecap="round"><title>median of {t.main.key.label()}: '
                   f'{energy_short(t.main.median)} kWh per 1,000</title></line>')
    ordered = sorted(rows, key=lambda r: r.kwh)
    xs = [ax(r.kwh) for r in ordered]
    for r, x, off in zip(ordered, xs, _swarm(xs, 9.0, lane / 2 - 8)):
        out.append(dot(x, mid + off, 5.5, r))
    return out


def _fit(xs: list[float], ys: list[float]) -> tuple[float, float] | None:
    """Least squares slope and intercept of log10(y) on log10(x)."""
    lx, ly = [math.log10(v) for v in xs], [math.log10(v) for v in ys]
    if len(lx) < 3 or len(set(lx)) < 2:
        return None
    mx, my = statistics.fmean(lx), statistics.fmean(ly)
    slope = sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)
    return slope, my - slope * mx


def params_chart(summary: TaskSummary) -> str | None:
    """Energy against parameter count for one task under one protocol, log-log; the fitted line and Pearson r
    are over the primary kind's models (every kind is plotted, in its colour)."""
    pts = [r for r in summary.rows if r.parameters]
    if not pts:
        return None
    width, height, left, bottom, top, right = 420, 310, 62, 46, 50, 16
    ax = LogAxis.fit([float(r.parameters or 0) for r in pts], left, width - right)
    ay = LogAxis.fit([r.kwh for r in pts], height - bottom, top)
    body = log_grid_x(ax, top, height - bottom, height - bottom + 16) + log_grid_y(ay, left, width - right, left - 6)
    main = summary.main
    fitted = [r for r in pts if main is not None and r in main.rows]
    title = f"{summary.title} · {summary.protocol.label()}"
    body.append(text(left, 18, title if len(title) <= 48 else title[:47] + "…", size=14, weight="600", fill="#0f172a"))
    corr = main.correlation if main else None
    r_text = "r = n/a (needs 3 models)" if corr is None else f"r = {corr:.2f} ({summary.primary})"
    body.append(text(left, 36, f"{r_text} · {len(pts)} model{'s' if len(pts) != 1 else ''}", size=12, fill="#475569"))
    body.append(text((left + width - right) / 2, height - 8, "parameters (log)", size=11, anchor="middle",
                     fill="#475569"))
    body.append(text(14, (top + height - bottom) / 2, "kWh / 1,000 (log)", size=11, anchor="middle", fill="#475569",
                     extra=f' transform="rotate(-90 14 {(top + height - bottom) / 2:.1f})"'))
    fit = _fit([float(r.parameters or 0) for r in fitted], [r.kwh for r in fitted])
    if fit:
        lo, hi = 10.0**ax.lo_exp, 10.0**ax.hi_exp
        ylo, yhi = (10 ** (fit[1] + fit[0] * math.log10(v)) for v in (lo, hi))
        clip = f"clip-{slug(summary.task)}-{slug(summary.protocol.label())}"
        body.append(f'<clipPath id="{clip}"><rect x="{left}" y="{top}" width="{width - right - left}" '
                    f'height="{height - bottom - top}"/></clipPath>')
        body.append(f'<g clip-path="url(#{clip})">' + line(ax(lo), ay(ylo), ax(hi), ay(yhi), "#94a3b8", 1.5, "5 4")
                    + "</g>")
    for r in pts:
        body.append(dot(ax(float(r.parameters or 0)), ay(r.kwh), 6, r))
    return svg(width, height, body, f"{title}: energy against parameter count, log-log")


@dataclass(frozen=True)
class ScorePoint:
    label: str
    kind: str
    kwh_per_1000: float
    score: float | None  # None: not scored (random weights or no labels)
    metric: str


def energy_score_chart(points: Sequence[ScorePoint], title: str) -> str:
    """Energy per 1,000 (log x) against accuracy or ROUGE (y); unscored models sit on a n/a strip."""
    width, height, left, bottom, top, right = 640, 340, 64, 48, 40, 150
    ax = LogAxis.fit([p.kwh_per_1000 for p in points], left, width - right)
    scored = [p.score for p in points if p.score is not None]
    hi = max([1.0] + scored) if scored and max(scored) > 1 else 1.0
    ay = LinearAxis(0.0, hi, height - bottom - 28, top)
    body = log_grid_x(ax, top, height - bottom, height - bottom + 16)
    for k in range(6):
        v = hi * k / 5
        body.append(line(left, ay(v), width - right, ay(v), "#e2e8f0"))
        body.append(text(left - 6, ay(v) + 4, f"{v:.1f}", size=11, anchor="end", fill="#5b6b7f"))
    body.append(text(left - 6, height - bottom - 6, "n/a", size=11, anchor="end", fill="#5b6b7f"))
    body.append(text(left, 20, title, size=14, weight="600", fill="#0f172a"))
    body.append(text((left + width - right) / 2, height - 8, "kWh per 1,000 inferences (log)", size=11,
                     anchor="middle", fill="#475569"))
    for p in points:
        x = ax(p.kwh_per_1000)
        y = ay(p.score) if p.score is not None else height - bottom - 10
        s = "n/a" if p.score is None else f"{p.score:.3f}"
        body.append(marker(x, y, 7, color(p.kind), "circle",
                           f"{p.label}: {energy_short(p.kwh_per_1000)} kWh/1,000, {p.metric} {s}"))
        body.append(text(x + 10, y + 4, p.label, size=12, fill="#0f172a"))
    return svg(width, height, body, title)
