"""The HTML report: one self-contained file (inline CSS, SVG and a few lines of script; no network)."""

from __future__ import annotations

from wattprint.report import study_view
from wattprint.report.aggregate import ModelRow
from wattprint.report.build import Report
from wattprint.report.charts import params_chart, strip_chart
from wattprint.report.comparable import KIND_TITLES, KINDS, Protocol
from wattprint.report.fmt import count, energy_short, params_short, sig, spread_label, stars
from wattprint.report.page import Cell, document, table
from wattprint.report.rating import band_edges
from wattprint.report.study_view import study_lines
from wattprint.report.summary import Headline, TaskSummary
from wattprint.report.svg import esc, slug

KIND_TAG = {"task-specific": "ts", "general-purpose": "gp"}


def _tag(text: str, cls: str = "") -> str:
    return f'<span class="tag {cls}">{esc(text)}</span>'


EQUIV_SHOWN = ("smartphone_charges", "web_searches", "miles_driven")


def _equiv(t: TaskSummary) -> str:
    chosen = [e for e in t.equivalents if e.get("key") in EQUIV_SHOWN and e.get("value") is not None]
    parts = [f"{sig(e['value'])} {str(e['name']).lower()}" for e in chosen]
    return " · ".join(parts) or "n/a"


def _card(k: str, v: str, s: str) -> str:
    return (f'<div class="card"><div class="k">{esc(k)}</div><div class="v">{esc(v)}</div>'
            f'<div class="s">{esc(s)}</div></div>')


def _headline_cards(h: Headline) -> str:
    lo, hi, over = h.ranked[0], h.ranked[-1], h.label()
    shrunk = " (shrunk runs)" if h.key.shrunk else ""
    if lo is hi:  # one task: nothing to rank it against
        cards = [_card("Only task" + shrunk, lo.title, f"median {energy_short(lo.median)} kWh / 1,000, {over}")]
    else:
        cards = [_card("Most frugal task" + shrunk, lo.title, f"median {energy_short(lo.median)} kWh / 1,000, {over}"),
                 _card("Most energy-hungry task" + shrunk, hi.title,
                       f"median {energy_short(hi.median)} kWh / 1,000, {over}")]
    least, most = h.least, h.most
    if least.kwh > 0:
        cards.append(_card(f"Spread across {KIND_TITLES[h.key.kind]} models" + shrunk,
                           spread_label(most.kwh / least.kwh),
                           f"{most.model} vs {least.model}, {h.key.protocol.label()}"))
    return "".join(cards)


def _left_out(report: Report) -> str:
    """A card naming what no headline ranks, and why (shrunk, or no model of the headline's kind)."""
    in_headline = {h.key.protocol for h in report.headlines}
    parts = [f"{t.title} ({t.protocol.label()})" for t in report.tasks if t.protocol not in in_headline]
    parts += [f"{t.title} ({t.protocol.label()}: no {KIND_TITLES[h.key.kind]} model)"
              for h in report.headlines for t in h.unranked]
    if not parts:
        return ""
    why = (" Shrunk runs are never ranked with full-size ones; why each was shrunk is under Per-task summary."
           if any(t.protocol.shrunk and t.protocol not in in_headline for t in report.tasks) else "")
    n = f"{len(parts)} task{'s' if len(parts) != 1 else ''}"
    return _card("Not in the headline", n, "; ".join(parts) + "." + why)


def _cards(report: Report) -> str:
    models = len({r.model for r in report.rows})
    runs = sum(r.runs for r in report.rows)
    head = _card("Tasks", str(len({t.task for t in report.tasks})), "benchmarked") + _card("Models", str(models),
                                                                                          f"{runs} runs")
    out = [f'<div class="cards">{head}</div>']
    for i, h in enumerate(report.headlines):
        out.append(f'<p class="lead">Headline {esc(h.label())}: medians of one kind of model under one '
                   f"protocol, never mixed.</p>")
        out.append(f'<div class="cards">{_headline_cards(h)}{_left_out(report) if i == 0 else ""}</div>')
    return "".join(out)


def _num_cell(v: float | None, bold: bool = False) -> Cell:
    if v is None:
        return Cell("—", None, True)
    shown = esc(energy_short(v))
    return Cell(f"<b>{shown}</b>" if bold else shown, v, True)


def _primary_cells(t: TaskSummary) -> list[Cell]:
    m = t.main
    if m is None:
        dash = Cell("—", None, True)
        return [dash, dash, dash, Cell("—"), Cell("—"), dash, dash, dash]
    return [
        Cell.num(str(m.n_models), m.n_models),
        Cell(f'{esc(energy_short(m.mean))}<br><span class="muted">± {esc(energy_short(m.std))}</span>', m.mean, True),
        _num_cell(m.median, bold=True),
        Cell(f'{esc(m.least.model)}<br><span class="muted">{esc(energy_short(m.least.kwh))}</span>'),
        Cell(f'{esc(m.most.model)}<br><span class="muted">{esc(energy_short(m.most.kwh))}</span>'),
        Cell.num(spread_label(m.spread), m.spread), Cell.num(sig(m.gco2e_median), m.gco2e_median),
        Cell.num("n/a" if m.correlation is None else f"{m.correlation:.2f}", m.correlation),
    ]


def _summary_table(report: Report, proto: Protocol, tid: str) -> str:
    summaries = report.summaries_of(proto)
    primary = summaries[0].primary
    others = [k for k in KINDS if k != primary and any(k in t.kinds for t in summaries)]
    headers = ["Task", "Models", "Mean ± std", "Median", "Least energy-hungry", "Most energy-hungry", "Spread",
               "gCO2e / 1,000 (median)", "r (log params, log energy)"]
    for k in others:
        headers += [f"{KIND_TITLES[k]}: models", f"{KIND_TITLES[k]}: median", f"{KIND_TITLES[k]} / {primary}"]
    rows = []
    for t in summaries:
        row = [Cell(f"<b>{esc(t.title)}</b>" + (' <span class="tag shr">shrunk</span>' if t.protocol.shrunk else ""))]
        row += _primary_cells(t)
        for k in others:
            ks = t.kinds.get(k)
            row += [Cell.num(str(ks.n_models) if ks else "0", ks.n_models if ks else 0),
                    _num_cell(ks.median if ks else None), Cell.num(_ratio(t.ratio(k)), t.ratio(k))]
        rows.append(row)
    note = (f"<p class=\"lead\"><b>{esc(proto.label())}</b>: the first columns are over "
            f"{esc(KIND_TITLES[primary])} models only; "
            + (", ".join(f"{esc(KIND_TITLES[k])} models have their own columns" for k in others) or "no other kind")
            + (". Shrunk: " + esc("; ".join(sorted({t.shrunk for t in summaries if t.shrunk}))) if proto.shrunk else "")
            + ".</p>")
    return note + table(headers, rows, tid=tid)


def _ratio(x: float | None) -> str:
    return "n/a" if x is None else (f"×{x:.2f}" if x < 10 else f"×{x:,.0f}")


def _summaries(report: Report) -> str:
    return "".join(_summary_table(report, p, "summary" if i == 0 else f"summary-{slug(p.label())}")
                   for i, p in enumerate(report.protocols))


def _hw(row: ModelRow) -> str:
    where = [row.hardware]
    if row.nodes:
        where.append("node " + ", ".join(row.nodes))
    if row.gpu_uuids:
        where.append(", ".join(u[:12] + ("…" if len(u) > 12 else "") for u in row.gpu_uuids))
    return "<br>".join(esc(w) for w in where) + f'<br><span class="muted small">{esc(row.methods)}</span>'


def _shrunk_tag(r: ModelRow) -> str:
    return f'<span class="tag shr" title="{esc(r.shrunk)}">shrunk</span>' if r.shrunk else ""


def _leader_row(r: ModelRow) -> list[Cell]:
    spread = esc(f"{r.runs} run{'s' if r.runs != 1 else ''}")
    if r.energy.ci_half_width is not None:
        spread = esc(f"± {energy_short(r.energy.ci_half_width)}") + "<br>95% CI · " + spread
    tags = _tag(r.model_kind, KIND_TAG.get(r.model_kind, "")) + "".join(
        _tag(o, "cc" if o == "codecarbon" else "") for o in r.origins)
    setup = (_tag(f"{r.weights} weights", "rnd" if r.weights == "random" else "")
             + _tag(f"{r.workload} inputs") + "<br>" + esc(r.preset)
             + (f" · {esc(r.dataset)}" if r.dataset else "")
             + "".join(f'<br><span class="muted small">{esc(d)}</span>' for d in r.details()))
    scores = ", ".join(f"{k} {v:.3f}" for k, v in sorted(r.scores.items())) or "n/a"
    return [
        Cell(f'<span class="stars" title="{r.stars} of 5">{esc(stars(r.stars))}</span>', r.stars, True),
        Cell(f'<span class="model">{esc(r.model)}</span><br>{tags}'),
        Cell(f"<b>{esc(energy_short(r.kwh))}</b>{_shrunk_tag(r)}<br><span class=\"muted\">{spread}</span>", r.kwh,
             True),
        Cell.num(sig(r.gco2e_per_1000), r.gco2e_per_1000),
        Cell.num(params_short(r.parameters), r.parameters), Cell(_hw(r)), Cell(setup),
        Cell(f'<span class="nw">{esc(r.date)}</span>'), Cell.text(scores),
    ]


LEADER_HEADERS = ["Rating", "Model", "kWh / 1,000", "gCO2e / 1,000", "Parameters", "Hardware · energy method",
                  "Setup", "Date", "Quality"]


def _leaderboard(report: Report, task: str) -> str:
    mine = [t for t in report.tasks if t.task == task]
    out = [f'<h3 id="lb-{slug(task)}">{esc(mine[0].title)}</h3>']
    for t in mine:
        out.append(_protocol_board(report, t, len(mine) > 1 or t.protocol.shrunk))
    return "".join(out)


def _protocol_board(report: Report, t: TaskSummary, label: bool) -> str:
    """One task's models under one protocol, rated within it (and within size classes where defined)."""
    rows = t.rows
    classes = list(dict.fromkeys(r.rating_class for r in sorted(rows, key=lambda r: r.rating_class)))
    out = []
    if label:
        out.append(f'<p class="lead"><b>{esc(t.protocol.label())}</b>'
                   + (f": {esc(t.shrunk)}" if t.protocol.shrunk else "") + "</p>")
    if t.main is not None:
        out.append(f'<p class="lead">1,000 inferences of the median {esc(KIND_TITLES[t.primary])} model '
                   f'({esc(energy_short(t.main.median))} kWh, {esc(sig(t.main.gco2e_median))} gCO2e) ≈ '
                   f'{esc(_equiv(t))}.</p>')
    for c in classes:
        members = sorted((r for r in rows if r.rating_class == c), key=lambda r: r.kwh)
        lo, hi = members[0].kwh, members[-1].kwh
        edges = band_edges(lo, hi, report.star_scale) if lo > 0 and hi > lo else []
        legend = " · ".join(f"{'★' * (5 - i)} ≤ {energy_short(e)}" for i, e in enumerate(edges[1:]))
        if len(classes) > 1 or c != "all models":
            out.append(f'<p class="lead"><b>{esc(c)}</b></p>')
        if legend:
            out.append(f'<p class="lead">Bands ({esc(report.star_scale)} scale, kWh / 1,000): {esc(legend)}</p>')
        tid = f"lb-{slug(t.task)}-{slug(t.protocol.label())}-{slug(c)}"
        out.append(table(LEADER_HEADERS, [_leader_row(r) for r in members], tid=tid))
    return "".join(out)


def _params_section(report: Report) -> str:
    charts = [params_chart(t) for t in report.tasks]
    panels = "".join(f'<div class="panel">{c}</div>' for c in charts if c)
    return f'<div class="grid">{panels}</div>' if panels else '<p class="lead">No parameter counts stored.</p>'


def _cells(shown: list[str], numbers: list[float | None], first: int) -> list[Cell]:
    """Text cells up to ``first``, then numeric ones (right-aligned, sorted by value) where there is a value."""
    out = [Cell.text(c) for c in shown[:first]]
    for text, v in zip(shown[first:], numbers):
        out.append(Cell.num(text, v) if v is not None else Cell.text(text))
    return out


def _study(report: Report) -> str:
    lines = study_lines(report)
    head = "<h2>In the study's accounting</h2>"
    if not lines:
        return head + ('<p class="lead">No run here used a GPU, so there is nothing to set beside the study\'s '
                       "node accounting (it adds the node's other GPUs to the ones a run used).</p>")
    out = [head, f'<p class="lead">{esc(study_view.method_text())} kWh per 1,000 inferences; means over each '
                 "task's models of the kind named, so that the columns add up.</p>"]
    for p in report.protocols:
        mine = [ln for ln in lines if ln.summary.protocol == p]
        if mine:
            out.append(f'<p class="lead"><b>{esc(p.label())}</b></p>')
            out.append(table(study_view.HEADERS, [_cells(study_view.cells(ln), study_view.values(ln), 2)
                                                  for ln in mine], tid=f"study-{slug(p.label())}"))
    sentence = study_view.ratio_sentence(lines)
    notes = [sentence] if sentence else []
    notes += study_view.idle_sources(report)
    out.append('<ul class="notes">' + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>")
    per_row = [_cells(study_view.row_cells(r), study_view.row_values(r), 3) for r in report.rows
               if r.study is not None]
    out.append("<details><summary>Every configuration in the study's accounting</summary>"
               + table(study_view.ROW_HEADERS, per_row, tid="study-rows") + "</details>")
    return "".join(out)


def _breakeven(report: Report) -> str:
    if not report.breakeven:
        return ""
    rows = [[Cell(f'<span class="model">{esc(b["model"])}</span>'), Cell.text(b["task"]),
             Cell.num(f'{b["training_kwh"]:,.0f}', b["training_kwh"]),
             Cell.num(energy_short(b["kwh_per_inference"]), b["kwh_per_inference"]),
             Cell.num(count(b["inferences"]), b["inferences"]),
             Cell.num(f'{b["days_at_1m_per_day"]:,.0f}', b["days_at_1m_per_day"]),
             Cell(f'<span class="muted">{esc(b["basis"])}: {esc(b["source"])}</span>')] for b in report.breakeven]
    return ("<h2>Training against inference</h2><p class=\"lead\">After how many inferences, at the energy measured "
            "here, has serving a model used as much energy as training it (published figures; days at one million "
            "queries a day)?</p>"
            + table(["Model", "Task", "Training kWh", "kWh / inference", "Break-even inferences", "Days at 1M/day",
                     "Training figure"], rows, tid="breakeven"))


def _notes(report: Report) -> str:
    items = list(report.notes)
    items.append(f"Stars: each task's range of kWh per 1,000 inferences under one protocol (within a size class "
                 f"for text generation: ≤ 20B, ≤ 66B, larger) is cut into five equal bands on a "
                 f"{report.star_scale} scale; 5 stars for the most frugal band.")
    items.append("Compared like with like: summaries, medians and headlines never mix presets, shrunk and "
                 "full-size runs, or task-specific and general-purpose models (each kind has its own columns).")
    items.append("Energy is GPU + CPU + RAM over the measured inference windows only; model loading and "
                 "warm-up are measured apart and not included. Repeats of one configuration give the mean, "
                 "the sample standard deviation and a 95% Student-t confidence interval.")
    items.append(f"Carbon: {report.carbon_note}.")
    srcs = {str(e.get("source")) for t in report.tasks for e in t.equivalents
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
        "<h2>Every model, by task</h2><p class=\"lead\">One point per model; tasks ordered as in the first "
        "headline, the dark bar its median (hover it for what it is over); hollow points are shrunk runs. "
        "The axis is logarithmic: each gridline is ten times the last. Hover a point for its "
        "figures.</p>",
        f'<div class="panel wide">{strip_chart(report)}</div>',
        "<h2>Per-task summary</h2><p class=\"lead\">kWh per 1,000 inferences across the models of each task, "
        "one table per protocol. Click a header to sort.</p>", _summaries(report),
        "<h2>Energy against model size</h2><p class=\"lead\">Log-log, with a least-squares line over the "
        "models of the kind named; r is Pearson's correlation of the logarithms. Hollow points are shrunk "
        "runs.</p>", _params_section(report),
        "<h2>Leaderboards</h2>", "".join(_leaderboard(report, t) for t in report.task_order()), _breakeven(report),
        _study(report),
        "<h2>How to read this</h2>", _notes(report),
        "<footer>Made with wattprint. Every figure above is computed from the runs in the store.</footer>",
    ]
    return document(title, header, "".join(body))
