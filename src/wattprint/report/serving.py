"""The serving benchmark's report: energy per output token against load, and against latency with the
Pareto frontier and the level to pick for a latency target. HTML (inline SVG, no network) or Markdown.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from wattprint.loadgen import pareto
from wattprint.loadgen.session import HEADER, row
from wattprint.report import svg
from wattprint.report.page import Cell, document, table

W, H, L, R, T, B = 640, 360, 70, 20, 30, 50
TOTAL, ABOVE, FRONT, PICK = "#2563eb", "#f59e0b", "#059669", "#dc2626"


def _metric(slo: pareto.LatencyTarget | None) -> str:
    return slo.metric if slo else "e2e_p95"


def pick_line(summaries: Sequence[dict[str, Any]], slo: pareto.LatencyTarget | None) -> str:
    """One sentence: the frontier and, for a target, the level to run at."""
    metric = _metric(slo)
    front = [summaries[i]["level"]["label"] for i in pareto.frontier(summaries, metric)]
    text = f"energy-latency Pareto frontier ({metric}): {', '.join(front) or 'none (no level with energy)'}"
    if slo is not None:
        i = pareto.pick(summaries, slo)
        if i is None:
            text += f"; no level meets {slo}"
        else:
            s = summaries[i]
            text += (f"; for {slo}: run at {s['level']['label']} ({pareto.energy_of(s):.3g} J per output token, "
                     f"{metric} {pareto.latency_of(s, metric):.3g} s)")
    return text


def _pts(summaries: Sequence[dict[str, Any]], key: str) -> list[tuple[float, float, str]]:
    out = []
    for s in summaries:
        y = s["per"][key]
        if y is not None and y > 0:
            out.append((float(s["level"]["value"]), float(y), s["level"]["label"]))
    return out


def _frame(ax_x: svg.LogAxis, ax_y: svg.LogAxis, xlabel: str, ylabel: str) -> list[str]:
    body = svg.log_grid_x(ax_x, T, H - B, H - B + 16) + svg.log_grid_y(ax_y, L, W - R, L - 6)
    body.append(svg.text((L + W - R) / 2, H - 8, xlabel, anchor="middle", size=12))
    body.append(svg.text(14, T - 10, ylabel, size=12))
    return body


def _polyline(points: list[tuple[float, float]], color: str, dash: str = "") -> str:
    d = f' stroke-dasharray="{dash}"' if dash else ""
    pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    return f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2"{d}/>'


def load_chart(summaries: Sequence[dict[str, Any]]) -> str | None:
    """J per output token (total and above idle) against concurrency or rate, log-log."""
    tot, above = _pts(summaries, "j_per_output_token"), _pts(summaries, "above_idle_j_per_output_token")
    if not tot:
        return None
    ax_x = svg.LogAxis.fit([p[0] for p in tot], L, W - R)
    ax_y = svg.LogAxis.fit([p[1] for p in tot + above], H - B, T)
    mode = summaries[0]["level"]["mode"]
    body = _frame(ax_x, ax_y, "concurrent requests" if mode == "concurrency" else "requests per second",
                  "J per output token")
    for pts, color, name in ((tot, TOTAL, "total"), (above, ABOVE, "above idle")):
        xy = [(ax_x(x), ax_y(y)) for x, y, _ in pts]
        if xy:
            body.append(_polyline(xy, color))
            body += [svg.marker(px, py, 4, color, "dot", f"{lab}: {y:.3g} J/token ({name})")
                     for (px, py), (_, y, lab) in zip(xy, pts)]
    body.append(svg.text(W - R - 150, T + 4, "● total", fill=TOTAL, size=11))
    body.append(svg.text(W - R - 80, T + 4, "● above idle", fill=ABOVE, size=11))
    return svg.svg(W, H, body, "Energy per output token against load")


def latency_chart(summaries: Sequence[dict[str, Any]], slo: pareto.LatencyTarget | None) -> str | None:
    """J per output token against a latency percentile; frontier joined, the pick ringed, the target drawn."""
    metric = _metric(slo)
    pts = pareto.points(summaries, metric, only_usable=False)
    if not pts:
        return None
    xs = [p[0] for p in pts] + ([slo.seconds] if slo else [])
    ax_x, ax_y = svg.LogAxis.fit(xs, L, W - R), svg.LogAxis.fit([p[1] for p in pts], H - B, T)
    body = _frame(ax_x, ax_y, f"{metric} latency (s)", "J per output token")
    front = pareto.frontier(summaries, metric)
    by_i = {i: (x, y) for x, y, i in pts}
    body.append(_polyline([(ax_x(by_i[i][0]), ax_y(by_i[i][1])) for i in front if i in by_i], FRONT, "5 3"))
    for x, y, i in pts:
        s = summaries[i]
        color = FRONT if i in front else "#94a3b8"
        body.append(svg.marker(ax_x(x), ax_y(y), 5, color, "dot", f"{s['level']['label']}: {y:.3g} J/token, "
                               f"{metric} {x:.3g} s"))
        body.append(svg.text(ax_x(x) + 7, ax_y(y) - 6, s["level"]["label"], size=10, fill="#334155"))
    body.append(svg.text(W - R - 200, T + 4, "- - Pareto frontier", fill=FRONT, size=11))
    if slo is not None:
        body.append(svg.text(W - R - 90, T + 4, f"| {slo}", fill=PICK, size=11))
        body.append(svg.line(ax_x(slo.seconds), T, ax_x(slo.seconds), H - B, PICK, 1.5, "4 3"))
        chosen = pareto.pick(summaries, slo)
        if chosen is not None and chosen in by_i:
            cx, cy = by_i[chosen]
            body.append(f'<circle cx="{ax_x(cx):.1f}" cy="{ax_y(cy):.1f}" r="10" fill="none" stroke="{PICK}" '
                        'stroke-width="2"/>')
    return svg.svg(W, H, body, "Energy per output token against latency, Pareto frontier")


def _table_html(summaries: Sequence[dict[str, Any]]) -> str:
    return table(HEADER, [[Cell.text(c) for c in row(s)] for s in summaries], cls="plain")


def _notes(summaries: Sequence[dict[str, Any]]) -> list[str]:
    notes = []
    src = sorted({m for s in summaries if s["energy"] for m in s["energy"]["methods"]})
    notes.append(f"Energy: {summaries[0]['energy_source']}; methods {', '.join(src) or 'none'}. Each J-per-unit "
                 "figure is the steady window's whole energy divided by that unit's count in the window.")
    for s in summaries:
        r = row(s)
        if r[-1]:
            notes.append(f"{s['level']['label']}: {r[-1]}")
    return notes


def render_html(summaries: Sequence[dict[str, Any]], model: str, slo: pareto.LatencyTarget | None) -> str:
    charts = [c for c in (load_chart(summaries), latency_chart(summaries, slo)) if c]
    body = (f"<section><h2>Energy per output token</h2>{''.join(charts)}"
            f"<p>{svg.esc(pick_line(summaries, slo))}</p>{_table_html(summaries)}"
            + "".join(f"<p class=\"note\">{svg.esc(n)}</p>" for n in _notes(summaries)) + "</section>")
    return document(f"wattprint serve-bench: {model}", f"<h1>Serving {svg.esc(model)} under load</h1>", body)


def render_md(summaries: Sequence[dict[str, Any]], model: str, slo: pareto.LatencyTarget | None) -> str:
    rows = [HEADER, *(row(s) for s in summaries)]
    lines = [f"# Serving {model} under load", "", "| " + " | ".join(rows[0]) + " |",
             "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    lines += ["", pick_line(summaries, slo), "", *(f"- {n}" for n in _notes(summaries))]
    return "\n".join(lines) + "\n"


def report_text(path: str, summaries: Sequence[dict[str, Any]], model: str,
                slo: pareto.LatencyTarget | None) -> str:
    """The report ``path``'s suffix asks for: Markdown for .md, else HTML."""
    md = Path(path).suffix.lower() == ".md"
    return render_md(summaries, model, slo) if md else render_html(summaries, model, slo)
