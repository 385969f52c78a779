"""A comparison as text (terminal) and as a self-contained HTML page with its energy-against-quality chart."""

from __future__ import annotations

from wattprint.report.charts import ScorePoint, energy_score_chart
from wattprint.report.compare import CONFIDENCE, CompareRow, Comparison, ratio_interval
from wattprint.report.fmt import energy_short, params_short
from wattprint.report.page import Cell, document, table
from wattprint.report.svg import esc


def _score(r) -> str:
    return r.score_note if r.score is None else f"{r.metric} {r.score:.3f}"


def to_text(c: Comparison) -> str:
    lines = [f"{c.task}: task-specific vs general-purpose (zero-shot); inputs: {c.same_inputs}", ""]
    w = max(len(r.model) for r in c.rows)
    lines.append(f"{'model':{w}}  {'role':8}  {'params':>7}  {'kWh / 1,000':>12}  {'runs':>4}  quality")
    for r in c.rows:
        lines.append(f"{r.model:{w}}  {r.role:8}  {params_short(r.parameters):>7}  {energy_short(r.kwh_per_1000):>12}  "
                     f"{r.runs:>4}  {_score(r)}")
    lines.append("")
    for g, s, x in c.pairs():
        lines.append(f"{g.model} uses {x:,.1f}x the energy of {s.model} per inference ({_interval(g, s)})")
    return "\n".join(lines) + "\n"


def _x(v: float) -> str:
    return f"{v:,.1f}x" if v >= 10 else f"{v:.2g}x"


def _interval(g: CompareRow, s: CompareRow) -> str:
    """The ratio's 95% interval and what it rests on, or why there is none."""
    ci = ratio_interval(g, s)
    if ci is None:
        one = ", ".join(r.model for r in (g, s) if r.runs < 2)
        return f"no interval: one repeat of {one}; --repeats 3 gives one"
    return f"{CONFIDENCE:.0%} interval {_x(ci[0])} to {_x(ci[1])}, from {g.runs} and {s.runs} repeats"


def to_html(c: Comparison) -> str:
    points = [ScorePoint(r.model, r.kind, r.kwh_per_1000, r.score, r.metric) for r in c.rows]
    chart = energy_score_chart(points, f"{c.task}: energy against {c.rows[0].metric}")
    rows = [[Cell(f'<span class="model">{esc(r.model)}</span>'), Cell.text(r.role), Cell.text(r.kind),
             Cell.num(params_short(r.parameters), r.parameters),
             Cell.num(energy_short(r.kwh_per_1000), r.kwh_per_1000),
             Cell.num(energy_short(r.kwh_per_1000_std), r.kwh_per_1000_std), Cell.num(str(r.runs), r.runs),
             Cell.num(_score(r), r.score), Cell.text(r.weights),
             Cell(f'<span title="{esc(r.workload_description)}">{esc(r.workload)}</span>')] for r in c.rows]
    ratios = "".join(f"<li><b>{esc(g.model)}</b> uses <b>{x:,.1f}×</b> the energy of <b>{esc(s.model)}</b> per "
                     f"inference ({esc(_interval(g, s))})</li>" for g, s, x in c.pairs())
    body = (f'<ul class="notes">{ratios}</ul><div class="panel">{chart}</div>'
            + table(["Model", "Role", "Kind", "Parameters", "kWh / 1,000", "Std", "Runs", "Quality", "Weights",
                     "Inputs"], rows, tid="compare")
            + f'<p class="lead">Inputs: {esc(c.same_inputs)}. General-purpose models are prompted zero-shot by the '
              "task and their generated answer mapped to a label; quality is only scored with real weights and "
              "labels. Each ratio's interval comes from the spread of the repeats.</p>")
    header = f"<h1>{esc(c.task)}: task-specific vs general-purpose</h1><p>Energy per 1,000 inferences and quality</p>"
    return document(f"wattprint compare: {c.task}", header, body)
