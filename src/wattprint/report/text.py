"""Markdown, CSV and JSON renderings of a report (same numbers as the HTML)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from wattprint.report import study_view
from wattprint.report.build import Report
from wattprint.report.comparable import KIND_TITLES, KINDS, Protocol
from wattprint.report.fmt import params_short, plain, stars
from wattprint.report.study_view import study_lines

CSV_FIELDS = (
    "task", "model", "preset", "dataset", "weights", "workload", "runs", "kwh_per_1000_mean", "kwh_per_1000_std",
    "kwh_per_1000_ci95_low", "kwh_per_1000_ci95_high", "gco2e_per_1000", "carbon_source", "stars",
    "rating_class", "parameters", "model_kind", "hardware", "energy_methods", "origin", "nodes", "gpu_uuids",
    "date", "scores", "shrunk",
    # the study-accounting view: its own columns, never the single-card figure above
    "study_accounting_kwh_per_1000_mean", "study_accounting_other_gpus", "study_accounting_idle_w_per_gpu",
    "study_accounting_idle_source",
    "safety_checker", "score_wh_per_1000", "score_basis", "preprocess_gpu_wh_per_1000", "driver",
)


def _md_cell(s: object) -> str:
    # A pipe or a newline in a model name would break the table; angle brackets stay literal text.
    return str("" if s is None else s).replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def _md_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return out


def _md_headlines(report: Report) -> list[str]:
    lines = ["## Headline", ""]
    for h in report.headlines:
        lo, hi, least, most = h.ranked[0], h.ranked[-1], h.least, h.most
        spread = f"×{most.kwh / least.kwh:,.0f} ({most.model} vs {least.model})" if least.kwh > 0 else "n/a"
        label = h.label()
        lines.append(_md_cell(f"- {label[0].upper()}{label[1:]}: most frugal task **{lo.title}** (median "
                              f"{plain(lo.median)} kWh / 1,000), most energy-hungry **{hi.title}** (median "
                              f"{plain(hi.median)} kWh / 1,000); spread across models {spread}."))
    in_headline = {h.key.protocol for h in report.headlines}
    out = [f"{t.title} ({t.protocol.label()}" + (f": {t.shrunk})" if t.shrunk else ")")
           for t in report.tasks if t.protocol not in in_headline]
    out += [f"{t.title} ({t.protocol.label()}: no {KIND_TITLES[h.key.kind]} model)"
            for h in report.headlines for t in h.unranked]
    if out:
        lines.append(_md_cell("- Not in the headline: " + "; ".join(out) + "."))
    return lines + [""]


def _md_summary(report: Report, proto: Protocol) -> list[str]:
    ts = report.summaries_of(proto)
    primary = ts[0].primary
    others = [k for k in KINDS if k != primary and any(k in t.kinds for t in ts)]
    headers = ["Task", "Models", "Mean", "Std", "Median", "Least", "Most", "gCO2e/1,000 (median)", "r (log-log)"]
    for k in others:
        headers += [f"{KIND_TITLES[k]}: models", f"{KIND_TITLES[k]}: median", f"{KIND_TITLES[k]} / {primary}"]
    rows: list[list[object]] = []
    for t in ts:
        m = t.main
        row: list[object] = [t.title + (" (shrunk)" if proto.shrunk else "")]
        row += ([m.n_models, plain(m.mean), plain(m.std), plain(m.median), f"{m.least.model} ({plain(m.least.kwh)})",
                 f"{m.most.model} ({plain(m.most.kwh)})", plain(m.gco2e_median),
                 "n/a" if m.correlation is None else f"{m.correlation:.2f}"] if m else [0] + [""] * 7)
        for k in others:
            ks, ratio = t.kinds.get(k), t.ratio(k)
            row += [ks.n_models if ks else 0, plain(ks.median) if ks else "", "" if ratio is None else f"{ratio:.3g}"]
        rows.append(row)
    intro = (f"### {proto.label()}", "", f"First columns over {KIND_TITLES[primary]} models only"
             + "".join(f"; {KIND_TITLES[k]} models in their own columns" for k in others)
             + (". Shrunk: " + "; ".join(sorted({t.shrunk for t in ts if t.shrunk})) if proto.shrunk else "")
             + ".", "")
    return [*intro, *_md_table(headers, rows), ""]


def _md_leaderboards(report: Report) -> list[str]:
    lines: list[str] = []
    for task in report.task_order():
        mine = [t for t in report.tasks if t.task == task]
        lines += [f"## {mine[0].title}", ""]
        for t in mine:
            if len(mine) > 1 or t.protocol.shrunk:
                lines += [f"### {t.protocol.label()}" + (f" ({t.shrunk})" if t.shrunk else ""), ""]
            eq = "; ".join(f"{plain(e['value'], 3)} {e['unit']}" for e in t.equivalents[:3]
                           if e.get("value") is not None)
            if eq and t.main:
                lines += [f"Median {KIND_TITLES[t.primary]} model ≈ {eq} per 1,000 inferences.", ""]
            lines += _md_table(
                ["Stars", "Class", "Model", "Kind", "kWh/1,000", "± 95% CI", "Runs", "gCO2e/1,000", "Params",
                 "Hardware", "Weights", "Inputs", "Protocol", "Details", "Date", "Origin"],
                [[stars(r.stars), r.rating_class, r.model, r.model_kind,
                  plain(r.kwh) + (" (shrunk)" if r.shrunk else ""), plain(r.energy.ci_half_width), r.runs,
                  plain(r.gco2e_per_1000), params_short(r.parameters), r.hardware, r.weights, r.workload,
                  r.preset + (" (shrunk)" if r.shrunk else ""), "; ".join(r.details()), r.date, r.origin]
                 for r in sorted(t.rows, key=lambda r: (r.rating_class, r.kwh))])
            lines.append("")
    return lines


def _md_study(report: Report) -> list[str]:
    lines = ["## In the study's accounting", ""]
    study = study_lines(report)
    if not study:
        return lines + ["No run here used a GPU, so there is nothing to set beside the study's node accounting.", ""]
    lines += [study_view.method_text() + " kWh per 1,000 inferences; means over each task's models of the kind "
              "named, so that the columns add up.", ""]
    for p in report.protocols:
        mine = [ln for ln in study if ln.summary.protocol == p]
        if mine:
            lines += [f"### {p.label()}", ""] + _md_table(study_view.HEADERS, [study_view.cells(ln) for ln in mine])
            lines.append("")
    sentence = study_view.ratio_sentence(study)
    lines += ([sentence] if sentence else []) + [f"- {s}" for s in study_view.idle_sources(report)] + [""]
    per_row = [study_view.row_cells(r) for r in report.rows if r.study is not None]
    return lines + ["### Every configuration", ""] + _md_table(study_view.ROW_HEADERS, per_row) + [""]


def summary_markdown(report: Report, level: int = 2) -> str:
    """The headline, the per-task summary of every protocol and the study-accounting view (no leaderboards),
    with ``level`` as the heading level of its sections (for pasting into a longer page)."""
    lines = _md_headlines(report) + ["## Per-task summary", ""]
    for p in report.protocols:
        lines += _md_summary(report, p)
    lines += _md_study(report)
    shift = "#" * (level - 2)
    return "\n".join(shift + ln if ln.startswith("#") else ln for ln in lines) + "\n"


def to_markdown(report: Report) -> str:
    lines = ["# wattprint report", "", f"Generated {report.generated_at}. Energy in kWh per 1,000 inferences "
             "(GPU + CPU + RAM, inference windows only). Compared like with like: no summary, median or headline "
             "mixes presets, shrunk and full-size runs, or task-specific and general-purpose models.", ""]
    lines += _md_headlines(report)
    lines += ["## Per-task summary", ""]
    for p in report.protocols:
        lines += _md_summary(report, p)
    lines += _md_leaderboards(report) + _md_study(report)
    lines += ["## Notes", ""] + [f"- {n}" for n in report.notes + [f"Carbon: {report.carbon_note}.",
                                                                  f"Star bands: {report.star_scale} scale."]]
    return "\n".join(lines) + "\n"


def to_csv(report: Report) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in report.rows:
        d = r.to_dict()
        d["nodes"] = ";".join(d["nodes"])
        d["gpu_uuids"] = ";".join(d["gpu_uuids"])
        d["scores"] = json.dumps(d["scores"]) if d["scores"] else ""
        study = d.pop("study_accounting") or {}
        d.update({"study_accounting_kwh_per_1000_mean": study.get("kwh_per_1000_mean"),
                  "study_accounting_other_gpus": study.get("other_gpus"),
                  "study_accounting_idle_w_per_gpu": study.get("idle_w_per_gpu"),
                  "study_accounting_idle_source": study.get("idle_source")})
        w.writerow({k: ("" if d.get(k) is None else d.get(k)) for k in CSV_FIELDS})
    return buf.getvalue()


def to_json(report: Report) -> str:
    d = report.to_dict()
    d["study_accounting"] = {"method": study_view.method_text(),
                             "tasks": [ln.to_dict() for ln in study_lines(report)],
                             "idle_sources": study_view.idle_sources(report)}
    return json.dumps(d, indent=2, default=str) + "\n"
