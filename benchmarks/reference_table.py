"""Rows of the reference: one per job (task, model, preset) over its repeats, with what a reader needs to trust it.

Each row carries the card, driver, commit, inputs per repeat, repeats, the GPU method's counter share and the 95%
interval of GPU Wh per 1,000 (absolute and relative to the mean). Two kinds of row are flagged and kept out of the
published tables (they stay in the archive, ``<name>-flagged.csv``):

- ``not counter-resolved``: some repeat's GPU figure does not rest on the energy counter (power-field or no GPU);
- ``shared GPU``: another process used the GPU before or after the job (from the sidecar of reference.py);
- a known defect of the code that measured it (``data/reference_defects.csv``: preset, task, commit, the model
  where only one was hit, and why).

A row whose interval is wider than 10% of its mean stays in the tables and says why (``ci_note``).
"""

from __future__ import annotations

import csv
import functools
import statistics
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from reference_repeat import TARGET


def gpu_component(r) -> dict:
    return next((c for c in r.components if c.get("kind") == "gpu"), {})


def gpu_method(r) -> str:
    return gpu_component(r).get("method", "")


def _summary(values):
    """Mean, std and CI half-width over repeats (None where no value or one repeat)."""
    from wattprint.bench.stats import summarize

    vs = [v for v in values if v is not None]
    if not vs:
        return SimpleNamespace(mean=None, std=None, ci_half_width=None)
    return summarize(vs)


def _mean(values) -> float | None:
    vs = [v for v in values if v is not None]
    return sum(vs) / len(vs) if vs else None


def _span(values) -> str:
    vs = sorted({v for v in values if v is not None})
    return "" if not vs else str(vs[0]) if len(vs) == 1 else f"{vs[0]}-{vs[-1]}"


def job_row(rs: list, idle, logs: list[dict] | None = None) -> dict[str, Any]:
    """One job: GPU and total Wh per 1,000 over its repeats, the study's accounting, provenance and flags."""
    from wattprint.report.accounting import study_account

    everything = rs
    counted = [r for r in rs if gpu_method(r) == "counter"]
    if counted and len(counted) >= 2 and len(counted) < len(rs):
        rs = counted  # a job re-run with counter-anchored windows: its power-field repeats are left out
    gpu, tot = _summary([r.gpu_wh_per_1000 for r in rs]), _summary([r.wh_per_1000 for r in rs])
    study = [a.kwh_per_1000 * 1000.0 for a in (study_account(r, idle) for r in rs) if a is not None]
    r0 = rs[0]
    env = r0.environment or {}
    logs = logs or []
    row = {
        "task": r0.task, "model": r0.model, "model_kind": r0.model_kind, "preset": r0.preset, "dataset": r0.dataset,
        "samples": r0.samples, "samples_range": _span(r.samples for r in rs),
        "repeats": len(rs), "parameters": r0.parameters, "dtype": r0.dtype, "batch_size": r0.batch_size,
        "gpu_wh_per_1000": gpu.mean, "gpu_wh_per_1000_std": gpu.std, "gpu_wh_per_1000_ci95": gpu.ci_half_width,
        "gpu_ci95_rel": (gpu.ci_half_width / gpu.mean) if gpu.mean and gpu.ci_half_width is not None else None,
        "total_wh_per_1000": tot.mean, "total_wh_per_1000_ci95": tot.ci_half_width,
        "latency_p50_s": _mean(r.latency_p50_s for r in rs),
        # the card's mean power over the repeats and their time per 1,000 inferences: their product is the GPU
        # figure, so a loop that holds the card near idle shows as time, not watts
        "gpu_mean_w": _mean(_gpu_watts(r) for r in rs), "s_per_1000": _mean(_s_per_1000(r) for r in rs),
        # the host's dispatch speed before each repeat (wattprint.bench.host_probe), their mean: lower is faster
        "host_dispatch_us": _mean(((r.environment or {}).get("host_probe") or {}).get("dispatch_us") for r in rs),
        "input_tokens_per_input": _mean(r.input_tokens / r.inferences if r.input_tokens and r.inferences else None
                                        for r in rs),
        "weights": r0.weights, "workload": r0.workload,
        "gpu": gpu_component(r0).get("name", "none"), "driver": env.get("driver") or "",
        "commit": next((e["commit"] for e in logs if e.get("commit")), "") or git_commit(env),
        "methods": ";".join(sorted({c["method"] + ":" + c["kind"] for r in rs for c in r.components})),
        "gpu_counter_share": sum(gpu_method(r) == "counter" for r in rs) / len(rs),
        "cards": len({gpu_component(r).get("uuid", "") for r in rs}), "repeats_left_out": len(everything) - len(rs),
        # which card (and so which host) the repeats ran on: rows of one card compare best (h200.md)
        "card_uuids": ";".join(sorted({str(gpu_component(r).get("uuid", ""))[:12] for r in rs} - {""})),
        # the study's node accounting added back (wattprint.report.accounting): its own column, never the above
        "study_accounting_wh_per_1000": _mean(study),
        "stop": ";".join(dict.fromkeys(e["stop"] for e in logs if e.get("stop"))),
    }
    row["flags"] = ";".join(flags(row, logs))
    row["ci_note"] = ci_note(row, logs)
    return row


def _gpu_watts(r) -> float | None:
    e = gpu_component(r).get("energy_j")
    return float(e) / r.duration_s if isinstance(e, (int, float)) and r.duration_s else None


def _s_per_1000(r) -> float | None:
    return r.duration_s / r.inferences * 1000.0 if r.inferences and r.duration_s else None


def git_commit(env: dict) -> str:
    """The commit a record's environment names (a dict with "commit", or the bare string of older records)."""
    g = env.get("git")
    return (g.get("commit") or "") if isinstance(g, dict) else (g or "")


DEFECTS = Path(__file__).resolve().parent / "data" / "reference_defects.csv"


@functools.cache
def defects(path: Path = DEFECTS) -> dict[tuple[str, str, str, str], str]:
    """(preset, task, commit, model) -> why the rows that commit measured are not to be published; model "": every
    model of the task."""
    if not path.exists():
        return {}
    with open(path, newline="") as f:
        return {(r["preset"], r["task"], r["commit"], r.get("model") or ""): r["why"] for r in csv.DictReader(f)}


def flags(row: dict, logs: list[dict]) -> list[str]:
    """Why a row is left out of the tables (empty: it is in)."""
    out = []
    key = (row.get("preset", ""), row.get("task", ""), (row.get("commit") or "")[:7])
    known = defects().get((*key, row.get("model", ""))) or defects().get((*key, ""))
    if known:
        out.append(known)
    if row["gpu_wh_per_1000"] is None or row["gpu_counter_share"] < 1.0:
        out.append(f"not counter-resolved ({row['gpu_counter_share']:.0%} of repeats on the counter)")
    shared = [p for e in logs for p in (e.get("others_before") or []) + (e.get("others_after") or [])]
    if shared:
        pids = sorted({p["pid"] for p in shared})
        out.append(f"shared GPU (other processes {', '.join(map(str, pids))} on the card)")
    return out


def ci_note(row: dict, logs: list[dict]) -> str:
    """Empty when the interval is within TARGET of the mean, else why it is not."""
    rel = row["gpu_ci95_rel"]
    if rel is not None and rel <= TARGET:
        return ""
    if row["gpu_wh_per_1000"] is None:
        return "no GPU figure"
    width = "no interval (one repeat)" if rel is None else f"95% CI ±{rel:.0%} of the mean"
    if not logs:
        return f"{width}: an earlier run of {row['repeats']} fixed repeats (before the adaptive rule)"
    stop = row["stop"] or "unknown"
    why = {"time cap": f"the job's time cap ({logs[-1].get('cap_s', 0):.0f} s) ended it",
           "max repeats": "the repeat limit ended it"}.get(stop, f"stopped: {stop}")
    return f"{width} after {row['repeats']} repeats: {why}"


def split_rows(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """(published, flagged)."""
    return [r for r in rows if not r["flags"]], [r for r in rows if r["flags"]]


def _num(v: float | None, digits: int = 4) -> str:
    return "n/a" if v is None else f"{v:.{digits}g}"


def markdown(rows: list[dict], flagged: list[dict], presets=("aienergyscore", "paper")) -> str:
    """The per-preset tables of docs/results/<name>.md and the list of rows left out."""
    out = []
    for preset in presets:
        rs = [r for r in rows if r["preset"] == preset]
        if not rs:
            continue
        out += [f"### `{preset}`, every job", "",
                "| task | model | kind | parameters | dtype | dataset | inputs x repeats | GPU Wh / 1,000 (95% CI) "
                "| GPU+CPU+RAM Wh / 1,000 | counter share | card, driver, commit | interval note |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in rs:
            params = f"{r['parameters'] / 1e6:.0f} M" if r["parameters"] else "n/a"
            rel = f" (±{r['gpu_ci95_rel']:.0%})" if r["gpu_ci95_rel"] is not None else ""
            out.append(f"| {r['task']} | {r['model']} | {r['model_kind']} | {params} | {r['dtype']} "
                       f"| {r.get('dataset') or 'n/a'} | {r['samples_range'] or r['samples']} x {r['repeats']} "
                       f"| {_num(r['gpu_wh_per_1000'])} ± {_num(r['gpu_wh_per_1000_ci95'], 2)}{rel} "
                       f"| {_num(r['total_wh_per_1000'])} | {r['gpu_counter_share']:.0%} "
                       f"| {r['gpu']}, {r['driver'] or 'n/a'}, {r['commit'] or 'n/a'} "
                       f"| {r['ci_note'] or 'within 10%'} |")
        out.append("")
    if flagged:
        out += ["### Left out of the tables (kept in the archive)", "",
                "| preset | task | model | why |", "|---|---|---|---|"]
        out += [f"| {r['preset']} | {r['task']} | {r['model']} | {r['flags']} |" for r in flagged]
        out.append("")
    return "\n".join(out) + "\n"


def _f(v: Any) -> float | None:
    """A CSV cell as a number (None where empty)."""
    return None if v in (None, "") else float(v)


def card_comparison(rows: list[dict], other: list[dict], name: str, other_name: str) -> str:
    """The jobs measured on both cards, side by side: GPU Wh / 1,000 with each 95% CI, the ratio, and whether the
    intervals overlap. ``rows``: this card's published rows; ``other``: the other card's CSV rows."""
    theirs = {(r["preset"], r["task"], r["model"]): r for r in other}
    both = [(r, theirs[k]) for r in rows if (k := (r["preset"], r["task"], r["model"])) in theirs]
    if not both:
        return ""
    a, b = other_name.upper(), name.upper()
    out = [f"### {b} against {a} (the jobs measured on both cards)", "",
           f"GPU Wh / 1,000 (95% CI over repeats, inputs x repeats); \"CIs overlap\" says whether the two intervals "
           f"overlap. {a} figures from `{other_name}.csv`. Rows measured with different numbers of inputs or by "
           "different commits differ in more than the card: read the commits and inputs beside each figure.", "",
           f"| preset | task | model | {a} | {b} | {b} / {a} | CIs overlap |", "|---|---|---|---|---|---|---|"]
    ratios = []
    for r, o in sorted(both, key=lambda p: (p[0]["preset"], p[0]["task"], p[0]["model"])):
        m, c = _f(r["gpu_wh_per_1000"]), _f(r["gpu_wh_per_1000_ci95"]) or 0.0
        om, oc = _f(o["gpu_wh_per_1000"]), _f(o["gpu_wh_per_1000_ci95"]) or 0.0
        if m is None or om is None or not om:
            continue
        ratios.append(m / om)
        overlap = "yes" if abs(m - om) <= c + oc else "no"
        out.append(f"| {r['preset']} | {r['task']} | {r['model']} "
                   f"| {_num(om)} ± {_num(oc, 2)} ({o['samples']} x {o['repeats']}, {(o['commit'] or 'n/a')[:7]}) "
                   f"| {_num(m)} ± {_num(c, 2)} ({r['samples']} x {r['repeats']}, {(r['commit'] or 'n/a')[:7]}) "
                   f"| {m / om:.2f} | {overlap} |")
    if ratios:
        out += ["", f"Median ratio {b} / {a} over these {len(ratios)} jobs: **{statistics.median(ratios):.2f}** "
                    f"(range {min(ratios):.2f}-{max(ratios):.2f})."]
    return "\n".join(out) + "\n"
