"""Markdown, CSV and JSON renderings of a report (same numbers as the HTML)."""

from __future__ import annotations

import csv
import io
import json

from wattprint.report.build import Report
from wattprint.report.fmt import params_short, plain, stars

CSV_FIELDS = (
    "task", "model", "preset", "dataset", "weights", "workload", "runs", "kwh_per_1000_mean", "kwh_per_1000_std",
    "kwh_per_1000_ci95_low", "kwh_per_1000_ci95_high", "gco2e_per_1000", "carbon_source", "stars",
    "rating_class", "parameters", "model_kind", "hardware", "energy_methods", "origin", "nodes", "gpu_uuids",
    "date", "scores",
)


def _md_cell(s: object) -> str:
    # A pipe or a newline in a model name would break the table; angle brackets stay literal text.
    return str("" if s is None else s).replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def _md_table(headers: list[str], rows: list[list[object]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return out


def to_markdown(report: Report) -> str:
    lines = ["# wattprint report", "", f"Generated {report.generated_at}. Energy in kWh per 1,000 inferences "
             "(GPU + CPU + RAM, inference windows only).", ""]
    lines += ["## Per-task summary", ""]
    lines += _md_table(
        ["Task", "Models", "Mean", "Std", "Median", "Least", "Most", "gCO2e/1,000 (median)", "r (log-log)"],
        [[t.title, t.n_models, plain(t.mean), plain(t.std), plain(t.median),
          f"{t.least.model} ({plain(t.least.kwh)})", f"{t.most.model} ({plain(t.most.kwh)})",
          plain(t.gco2e_median), "n/a" if t.correlation is None else f"{t.correlation:.2f}"]
         for t in report.tasks])
    for t in report.tasks:
        lines += ["", f"## {t.title}", ""]
        eq = "; ".join(f"{plain(e['value'], 3)} {e['unit']}" for e in t.equivalents[:3] if e.get("value") is not None)
        if eq:
            lines += [f"Median model ≈ {eq} per 1,000 inferences.", ""]
        lines += _md_table(
            ["Stars", "Class", "Model", "kWh/1,000", "± 95% CI", "Runs", "gCO2e/1,000", "Params", "Hardware",
             "Weights", "Inputs", "Protocol", "Date", "Origin"],
            [[stars(r.stars), r.rating_class, r.model, plain(r.kwh), plain(r.energy.ci_half_width), r.runs,
              plain(r.gco2e_per_1000), params_short(r.parameters), r.hardware, r.weights, r.workload, r.preset,
              r.date, r.origin] for r in sorted(report.rows_of(t.task), key=lambda r: (r.rating_class, r.kwh))])
    lines += ["", "## Notes", ""] + [f"- {n}" for n in report.notes + [f"Carbon: {report.carbon_note}.",
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
        w.writerow({k: ("" if d.get(k) is None else d.get(k)) for k in CSV_FIELDS})
    return buf.getvalue()


def to_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, default=str) + "\n"
