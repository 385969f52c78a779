"""The table and the data file of ``aienergyscore_gap.py``'s parts (their JSON files), kept apart from the GPU parts.

``write_csv`` turns them into ``benchmarks/data/aienergyscore_phases.csv``, which ``reconciliation.py`` reads: one
row per measured phase, GPU Wh per 1,000 inputs (mean over passes), ``in_protocol_sum`` marking the phases whose
sum re-enacts the protocol's figure (its preprocess and its inference loop, read as it reads them, with the
leaderboard's transformers).
"""

from __future__ import annotations

import csv
import json
import os
from statistics import fmean

# the leaderboard's figures, with their sources: one file for every script that compares with them
LEADERBOARD_CSV = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "aienergyscore_leaderboard.csv")


def leaderboard_wh_per_1000(path: str = LEADERBOARD_CSV) -> dict[str, float]:
    """model -> the AI Energy Score leaderboard's GPU Wh per 1,000 queries (NVIDIA H100 80GB)."""
    with open(path, newline="", encoding="utf-8") as f:
        return {r["model"]: float(r["kwh_per_1000"]) * 1000.0 for r in csv.DictReader(f)}


def wh_per_1000(joules: float | None, n: int) -> float | None:
    return None if joules is None or not n else joules / 3600.0 / n * 1000.0


def _fmt(x: float | None, spec: str = ".3g") -> str:
    return "n/a" if x is None else format(x, spec)


def _phase_lines(doc: dict) -> list[str]:
    """One line per phase name: Wh/1k (mean over iterations), time per input, mean GPU power."""
    names: dict[str, list[dict]] = {}
    for r in doc["phases"]:
        names.setdefault(r["phase"], []).append(r)
    lines = []
    for name, rs in names.items():
        n = rs[0]["inputs"]
        s = fmean(r["seconds"] for r in rs)
        joules = [r["gpu_j"] for r in rs if r["gpu_j"] is not None]
        j = fmean(joules) if joules else None
        watts = j / s if j is not None and s > 0 else None
        per = f"{s / n * 1000:.3g} ms/input" if n else f"{s:.3g} s"
        if doc["part"] in GENERATING and name.startswith("generate") and n:
            per += f", {s / (n * doc['new_tokens']) * 1000:.3g} ms/new token"
        lines.append(f"| {doc.get('model', '')} | {name} | {n} x {len(rs)} | {_fmt(wh_per_1000(j, n))} | {per} "
                     f"| {_fmt(watts, '.0f')} |")
    return lines


def _preset_line(r: dict, board: dict[str, float]) -> str:
    ref = board.get(r["model"])
    score = r["score_wh_per_1000"]
    pre, win = wh_per_1000(r["preprocess_gpu_j"], r["inputs"]), wh_per_1000(r["window_gpu_j"], r["inputs"])
    ratio = f", score/leaderboard {score / ref:.2f}" if ref and score else ""
    per = f"{r['window_s'] / r['inputs'] * 1000:.3g} ms/input"
    if r.get("generated_tokens"):
        per += f", {r['window_s'] / r['generated_tokens'] * 1000:.3g} ms/new token"
    path = "inputs read back from Arrow" if r.get("arrow_reads") else "inputs in memory"
    return (f"| {r['model']} | wattprint preset ({r['dtype']}, {path}): preprocess {_fmt(pre)} "
            f"+ window {_fmt(win)} = score{ratio} | {r['inputs']} x {r['repeats']} | {_fmt(score)} | {per} | |")


def table(paths: list[str]) -> str:
    out = ["| model | phase | inputs x runs | GPU Wh/1k | time | GPU W |", "|---|---|---|---|---|---|"]
    notes, models, board = [], [], leaderboard_wh_per_1000()
    for p in paths:
        if not os.path.exists(p):
            notes.append(f"{os.path.basename(p)}: not written (the part failed or was cut for time)")
            continue
        with open(p, encoding="utf-8") as f:
            doc = json.load(f)
        if doc["part"] == "preset":
            out.extend(_preset_line(r, board) for r in doc["rows"])
            models += [r["model"] for r in doc["rows"]]
            continue
        out.extend(_phase_lines(doc))
        models.append(doc.get("model", ""))
        v = doc["versions"]
        notes.append(f"{os.path.basename(p)}: {doc['gpu']}, python {v['python']}, torch {v['torch']}, "
                     f"transformers {v['transformers']}, datasets {v['datasets']}, pyarrow {v['pyarrow']}")
        if "dispatch" in doc:
            d, probes = doc["dispatch"], [r["host_dispatch_us"] for r in doc["phases"] if r.get("host_dispatch_us")]
            host = f"; the host probe read {fmean(probes):.3g} µs per dispatch (mean of {len(probes)})" if probes \
                else ""
            notes.append(f"{os.path.basename(p)}: {d['ops_per_new_token']:.0f} operators dispatched per new token, "
                         f"{d['compute_ops_per_new_token']:.0f} of them not views{host}")
        if "encoder_runs_per_caption" in doc:
            notes.append(f"{os.path.basename(p)}: the image encoder ran {doc['encoder_runs_per_caption']:.3g} times "
                         f"per caption of {doc['generated_new_tokens']} new tokens")
    out.append("")
    out.append("leaderboard (H100, GPU Wh/1k): " + ", ".join(f"{m} {board[m]:.3g}" for m in dict.fromkeys(models)
                                                             if m in board))
    return "\n".join(out + notes)


PROTOCOL_IMAGE = ("preprocess", "forward, DataLoader over the Arrow cache (protocol)")
GENERATING = ("text", "caption")  # parts whose generate phases have new tokens (their JSON's new_tokens)


def _summaries(doc: dict) -> list[dict]:
    """One summary per phase name of a part: inputs, passes, GPU Wh/1k, ms per input, ms per new token."""
    names: dict[str, list[dict]] = {}
    for r in doc["phases"]:
        names.setdefault(r["phase"], []).append(r)
    out = []
    for name, rs in names.items():
        n = rs[0]["inputs"]
        if not n:
            continue
        joules = [r["gpu_j"] for r in rs if r["gpu_j"] is not None]
        s = fmean(r["seconds"] for r in rs)
        tokens = n * doc["new_tokens"] if doc["part"] in GENERATING and name.startswith("generate") else None
        out.append({"model": doc["model"], "phase": name, "inputs": n, "passes": len(rs),
                    "gpu_wh_per_1000": wh_per_1000(fmean(joules), n) if joules else None,
                    "ms_per_input": s / n * 1000, "ms_per_new_token": s / tokens * 1000 if tokens else None,
                    "software": f"transformers {doc['versions']['transformers']}, torch {doc['versions']['torch']}"
                                + (f", datasets {doc['versions']['datasets']}" if doc["versions"]["datasets"] else ""),
                    "gpu": doc["gpu"]})
    return out


def _protocol_generate_phases(rows: list[dict]) -> dict[str, str]:
    """model -> its generate pass with the leaderboard's transformers (4.x), read from Arrow if measured so, else
    from memory (a captioner's pixels are in memory: its image preprocessing is not re-enacted, a small share
    beside 100 new tokens)."""
    out: dict[str, str] = {}
    for model in dict.fromkeys(r["model"] for r in rows):
        old = [r["phase"] for r in rows if r["model"] == model and r["phase"].startswith("generate (transformers 4.")]
        if old:
            out[model] = next((p for p in old if "from arrow" in p), old[0])
    return out


def _preset_rows(doc: dict) -> list[dict]:
    """wattprint's own preset: its preprocess and its inference window. Text generation's preprocess (tokenizing)
    stands in for the protocol's, which the text part does not re-enact."""
    out = []
    software = f"transformers {doc['versions']['transformers']}, torch {doc['versions']['torch']}"
    for r in doc["rows"]:
        path = "inputs read back from Arrow" if r.get("arrow_reads") else "inputs in memory"
        n = r["inputs"]
        base = {"model": r["model"], "inputs": n, "passes": r["repeats"], "software": software, "gpu": "",
                "ms_per_new_token": r["window_s"] / r["generated_tokens"] * 1000 if r.get("generated_tokens") else None}
        out.append({**base, "phase": "preprocess (wattprint preset)", "passes": 1,
                    "in_protocol_sum": "yes" if r["model"] == "distilgpt2" else "no",
                    "gpu_wh_per_1000": wh_per_1000(r["preprocess_gpu_j"], n),
                    "ms_per_input": (r["preprocess_s"] or 0) / n * 1000, "ms_per_new_token": None})
        out.append({**base, "phase": f"inference window (wattprint preset, {path})", "in_protocol_sum": "no",
                    "gpu_wh_per_1000": wh_per_1000(r["window_gpu_j"], n), "ms_per_input": r["window_s"] / n * 1000})
    return out


COLUMNS = ["model", "phase", "in_protocol_sum", "gpu_wh_per_1000", "ms_per_input", "ms_per_new_token", "inputs",
           "passes", "software", "gpu", "source"]


def write_csv(paths: list[str], out: str, source: str, keep_others: bool = False) -> None:
    """The parts' phases into ``out``, each row with ``source``. With ``keep_others``, the rows ``out`` already
    holds for models these parts did not measure stay as they are, with their own source, ahead of the new rows."""
    rows = []
    for p in paths:
        if os.path.exists(p):
            with open(p, encoding="utf-8") as f:
                doc = json.load(f)
            rows.extend(_preset_rows(doc) if doc["part"] == "preset" else _summaries(doc))
    generate = _protocol_generate_phases(rows)
    for r in rows:
        if "in_protocol_sum" not in r:
            mine = r["phase"] in PROTOCOL_IMAGE or generate.get(r["model"]) == r["phase"]
            r["in_protocol_sum"] = "yes" if mine else "no"
        r["source"] = source
    kept: list[dict] = []
    if keep_others and os.path.exists(out):
        measured = {r["model"] for r in rows}
        with open(out, newline="", encoding="utf-8") as f:
            kept = [r for r in csv.DictReader(f) if r["model"] not in measured]
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(kept)
        for r in rows:
            w.writerow({k: (f"{r[k]:.4g}" if isinstance(r[k], float) else r[k]) for k in COLUMNS})
