"""The HTML report: one self-contained file (inline CSS, SVG and a few lines of script; no network)."""

from __future__ import annotations

from wattprint.report.aggregate import ModelRow
from wattprint.report.build import Report, TaskSummary
from wattprint.report.charts import params_chart, strip_chart
from wattprint.report.fmt import count, energy_short, params_short, sig, spread_label, stars
from wattprint.report.page import Cell, document, table
from wattprint.report.rating import band_edges
from wattprint.report.svg import esc, slug

KIND_TAG = {"task-specific": "ts", "general-purpose": "gp"}


def _tag(text: str, cls: str = "") -> str:
    return f'<span class="tag {cls}">{esc(text)}</span>'


EQUIV_SHOWN = ("smartphone_charges", "web_searches", "miles_driven")


def _equiv(t: TaskSummary) -> str:
    chosen = [e for e in t.equivalents if e.get("key") in EQUIV_SHOWN and e.get("value") is not None]
    parts = [f"{sig(e['value'])} {str(e['name']).lower()}" for e in chosen]
    return " · ".join(parts) or "n/a"


def _cards(report: Report) -> str:
    models = len({r.model for r in report.rows})
    runs = sum(r.runs for r in report.rows)
    cards = [("Tasks", str(len(report.tasks)), "benchmarked"), ("Models", str(models), f"{runs} runs")]
    if report.tasks:
        lo, hi = report.tasks[0], report.tasks[-1]
        cards.append(("Most frugal task", lo.title, f"median {energy_short(lo.median)} kWh / 1,000"))
        cards.append(("Most energy-hungry task", hi.title, f"median {energy_short(hi.median)} kWh / 1,000"))
        least = min(report.rows, key=lambda r: r.kwh)
        most = max(report.rows, key=lambda r: r.kwh)
        if least.kwh > 0:
            cards.append(("Spread across all models", spread_label(most.kwh / least.kwh),
                          f"{most.model} vs {least.model}"))
    out = "".join(f'<div class="card"><div class="k">{esc(k)}</div><div class="v">{esc(v)}</div>'
                  f'<div class="s">{esc(s)}</div></div>' for k, v, s in cards)
    return f'<div class="cards">{out}</div>'


def _summary_table(report: Report) -> str:
    headers = ["Task", "Models", "Mean ± std", "Median", "Least energy-hungry", "Most energy-hungry",
               "Spread", "gCO2e / 1,000 (median)", "r (log params, log energy)"]
    rows = []
    for t in report.tasks:
        rows.append([
            Cell(f"<b>{esc(t.title)}</b>"), Cell.num(str(t.n_models), t.n_models),
            Cell(f'{esc(energy_short(t.mean))}<br><span class="muted">± {esc(energy_short(t.std))}</span>', t.mean, True),
            Cell(f"<b>{esc(energy_short(t.median))}</b>", t.median, True),
            Cell(f'{esc(t.least.model)}<br><span class="muted">{esc(energy_short(t.least.kwh))}</span>'),
            Cell(f'{esc(t.most.model)}<br><span class="muted">{esc(energy_short(t.most.kwh))}</span>'),
            Cell.num(spread_label(t.spread), t.spread), Cell.num(sig(t.gco2e_median), t.gco2e_median),
            Cell.num("n/a" if t.correlation is None else f"{t.correlation:.2f}", t.correlation),
        ])
    return table(headers, rows, tid="summary")


def _hw(row: ModelRow) -> str:
    where = [row.hardware]
    if row.nodes:
        where.append("node " + ", ".join(row.nodes))
    if row.gpu_uuids:
        where.append(", ".join(u[:12] + ("…" if len(u) > 12 else "") for u in row.gpu_uuids))
    return "<br>".join(esc(w) for w in where) + f'<br><span class="muted small">{esc(row.methods)}</span>'


def _leader_row(r: ModelRow) -> list[Cell]:
    spread = esc(f"{r.runs} run{'s' if r.runs != 1 else ''}")
    if r.energy.ci_half_width is not None:
        spread = esc(f"± {energy_short(r.energy.ci_half_width)}") + "<br>95% CI · " + spread
    tags = _tag(r.model_kind, KIND_TAG.get(r.model_kind, "")) + "".join(
        _tag(o, "cc" if o == "codecarbon" else "") for o in r.origins)
    setup = (_tag(f"{r.weights} weights", "rnd" if r.weights == "random" else "")
             + _tag(f"{r.workload} inputs") + "<br>" + esc(r.preset)
             + (f" · {esc(r.dataset)}" if r.dataset else ""))
    scores = ", ".join(f"{k} {v:.3f}" for k, v in sorted(r.scores.items())) or "n/a"
    return [
        Cell(f'<span class="stars" title="{r.stars} of 5">{esc(stars(r.stars))}</span>', r.stars, True),
        Cell(f'<span class="model">{esc(r.model)}</span><br>{tags}'),
        Cell(f"<b>{esc(energy_short(r.kwh))}</b><br><span class=\"muted\">{spread}</span>", r.kwh, True),
        Cell.num(sig(r.gco2e_per_1000), r.gco2e_per_1000),
        Cell.num(params_short(r.parameters), r.parameters), Cell(_hw(r)), Cell(setup),
        Cell(f'<span class="nw">{esc(r.date)}</span>'), Cell.text(scores),
    ]


LEADER_HEADERS = ["Rating", "Model", "kWh / 1,000", "gCO2e / 1,000", "Parameters", "Hardware · energy method",
                  "Setup", "Date", "Quality"]


def _leaderboard(report: Report, t: TaskSummary) -> str:
    rows = report.rows_of(t.task)
    classes = list(dict.fromkeys(r.rating_class for r in rows))
    out = [f'<h3 id="lb-{slug(t.task)}">{esc(t.title)}</h3>',
           f'<p class="lead">1,000 inferences of the median model ({esc(energy_short(t.median))} kWh, '
           f'{esc(sig(t.gco2e_median))} gCO2e) ≈ {esc(_equiv(t))}.</p>']
    for c in classes:
        members = sorted((r for r in rows if r.rating_class == c), key=lambda r: r.kwh)
        lo, hi = members[0].kwh, members[-1].kwh
        edges = band_edges(lo, hi, report.star_scale) if lo > 0 and hi > lo else []
        legend = " · ".join(f"{'★' * (5 - i)} ≤ {energy_short(e)}" for i, e in enumerate(edges[1:]))
        if len(classes) > 1 or c != "all models":
            out.append(f'<p class="lead"><b>{esc(c)}</b></p>')
        if legend:
            out.append(f'<p class="lead">Bands ({esc(report.star_scale)} scale, kWh / 1,000): {esc(legend)}</p>')
        out.append(table(LEADER_HEADERS, [_leader_row(r) for r in members], tid=f"lb-{slug(t.task)}-{slug(c)}"))
    return "".join(out)


def _params_section(report: Report) -> str:
    charts = [params_chart(t, report.rows_of(t.task)) for t in report.tasks]
    panels = "".join(f'<div class="panel">{c}</div>' for c in charts if c)
    return f'<div class="grid">{panels}</div>' if panels else '<p class="lead">No parameter counts stored.</p>'


def _breakeven(report: Report) -> str:
    if not report.breakeven:
        return ""
    rows = [[Cell(f'<span class="model">{esc(b["model"])}</span>'), Cell.text(b["task"]),
             Cell.num(f'{b["training_kwh"]:,.0f}', b["training_kwh"]),
             Cell.num(energy_short(b["kwh_per_inference"]), b["kwh_per_inference"]),
             Cell.num(count(b["inferences"]), b["inferences"]), Cell.num(f'{b["days_at_1m_per_day"]:,.0f}', b["days_at_1m_per_day"]),
             Cell(f'<span class="muted">{esc(b["basis"])}: {esc(b["source"])}</span>')] for b in report.breakeven]
    return ("<h2>Training against inference</h2><p class=\"lead\">After how many inferences, at the energy measured "
            "here, has serving a model used as much energy as training it (published figures; days at one million "
            "queries a day)?</p>"
            + table(["Model", "Task", "Training kWh", "kWh / inference", "Break-even inferences", "Days at 1M/day",
                     "Training figure"], rows, tid="breakeven"))


def _notes(report: Report) -> str:
    items = list(report.notes)
    items.append(f"Stars: each task's range of kWh per 1,000 inferences (within a size class for text "
                 f"generation: ≤ 20B, ≤ 66B, larger) is cut into five equal bands on a {report.star_scale} "
                 f"scale; 5 stars for the most frugal band.")
    items.append("Energy is GPU + CPU + RAM over the measured inference windows only; model loading and "
                 "warm-up are measured apart and not included. Repeats of one configuration give the mean, "
                 "the sample standard deviation and a 95% Student-t confidence interval.")
    items.append(f"Carbon: {report.carbon_note}.")
    srcs = {e.get("source") for t in report.tasks for e in t.equivalents
            if e.get("source") and e.get("key") in EQUIV_SHOWN}
    for s in sorted(srcs):
        items.append(f"Equivalents source: {s}")
    if report.without_inferences:
        items.append(f"{len(report.without_inferences)} finished run(s) have no inference count and are not "
                     f"in the per-1,000 figures: " + ", ".join(f"{r.model} ({r.origin})"
                                                              for r in report.without_inferences[:10]))
    return "<ul class=\"notes\">" + "".join(f"<li>{esc(i)}</li>" for i in items) + "</ul>"


def render(report: Report, title: str = "wattprint report") -> str:
    header = (f"<h1>{esc(title)}</h1><p>Energy per 1,000 inferences, by task and model · generated "
              f"{esc(report.generated_at)}</p>")
    if not report.rows:
        return document(title, header, '<p class="lead">The store holds no finished runs yet. Run '
                        "<code>wattprint bench</code> or <code>wattprint import codecarbon</code>.</p>")
    body = [
        _cards(report),
        "<h2>Every model, by task</h2><p class=\"lead\">One point per model; tasks ordered by their median "
        "(the dark bar). The axis is logarithmic: each gridline is ten times the last. Hover a point for its "
        "figures.</p>",
        f'<div class="panel wide">{strip_chart(report)}</div>',
        "<h2>Per-task summary</h2><p class=\"lead\">kWh per 1,000 inferences across the models of each task. "
        "Click a header to sort.</p>", _summary_table(report),
        "<h2>Energy against model size</h2><p class=\"lead\">Log-log, with a least-squares line; r is "
        "Pearson's correlation of the logarithms.</p>", _params_section(report),
        "<h2>Leaderboards</h2>", "".join(_leaderboard(report, t) for t in report.tasks), _breakeven(report),
        "<h2>How to read this</h2>", _notes(report),
        "<footer>Made with wattprint. Every figure above is computed from the runs in the store.</footer>",
    ]
    return document(title, header, "".join(body))
