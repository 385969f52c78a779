"""The study's kWh per 1,000 inferences per task, recomputed from the per-run CodeCarbon logs it released.

Source: github.com/sashavor/co2_inference, data/emissions/base/*.csv (Luccioni, Jernite & Strubell, "Power Hungry
Processing", FAccT 2024, arXiv:2311.16863). Each log is one run of 1,000 queries on one dataset (the paper's
protocol); its ``query model`` row is the inference, its ``load model`` row the load (left out, as the paper
does). A log's ``project_name`` is the model's hub id, which wattprint's catalog resolves (aliases included) to
the study model and its task; only task-specific study models count, as in the paper's per-task table. A task's
figure is the mean over its models of each model's mean over runs, beside the range over models.

    git clone https://github.com/sashavor/co2_inference /tmp/co2_inference
    python benchmarks/study_tasks_from_logs.py /tmp/co2_inference > benchmarks/data/study_tasks.csv
    python benchmarks/study_tasks_from_logs.py /tmp/co2_inference --models > benchmarks/data/study_models.csv

Reads a checkout, or a bare git directory (``git show`` of HEAD's files).
"""

from __future__ import annotations

import csv
import io
import statistics
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

LOGS = "data/emissions/base"
QUERIES_PER_RUN = 1000
SOURCE = ("recomputed from the study's released per-run CodeCarbon logs (github.com/sashavor/co2_inference "
          f"{LOGS}, 'query model' rows, {QUERIES_PER_RUN} queries per run), task-specific models, mean over models")


def _texts(repo: Path):
    """The text of every log under LOGS, from a checkout or a bare git directory."""
    folder = repo / LOGS
    if folder.is_dir():
        for p in sorted(folder.glob("*.csv")):
            yield p.read_text()
        return
    names = subprocess.run(["git", "--git-dir", str(repo), "ls-tree", "-r", "--name-only", "HEAD", LOGS],
                           capture_output=True, text=True, check=True).stdout.split()
    blob = "\n".join(f"HEAD:{n}" for n in names) + "\n"
    out = subprocess.run(["git", "--git-dir", str(repo), "cat-file", "--batch"], input=blob.encode(),
                         capture_output=True, check=True).stdout
    i = 0
    while i < len(out):  # "<sha> blob <size>\n<content>\n"
        nl = out.index(b"\n", i)
        size = int(out[i:nl].split()[2])
        yield out[nl + 1: nl + 1 + size].decode("utf-8", "replace")
        i = nl + 1 + size + 1


def per_model(repo: Path) -> dict[str, list[float]]:
    """hub id -> kWh per 1,000 queries of each run ('query model' rows)."""
    out: dict[str, list[float]] = defaultdict(list)
    for text in _texts(repo):
        for row in csv.DictReader(io.StringIO(text)):
            if row.get("task_name") == "query model" and row.get("energy_consumed"):
                out[row["project_name"]].append(float(row["energy_consumed"]) * 1000.0 / QUERIES_PER_RUN)
    return out


def model_rows(models: dict[str, list[float]]) -> list[dict]:
    """One row per task-specific study model of the catalog: its mean over runs."""
    from wattprint.core.errors import WattprintError
    from wattprint.models.catalog import get_entry

    rows = []
    for hub_id, runs in sorted(models.items()):
        try:
            e = get_entry(hub_id)
        except WattprintError:
            continue
        if e.in_catalog and e.study and e.kind == "task-specific":
            rows.append({"task": e.task, "model": e.name, "hub_id": hub_id, "kwh_per_1000": statistics.fmean(runs),
                         "runs": len(runs), "source": SOURCE.replace(", mean over models", ", mean over runs")})
    return rows


def per_task(models: dict[str, list[float]]) -> list[dict]:
    tasks: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for m in model_rows(models):
        tasks[m["task"]].append((m["kwh_per_1000"], m["model"]))
    rows = []
    for task, vals in sorted(tasks.items()):
        v = [x for x, _ in vals]
        rows.append({"task": task, "kwh_per_1000": statistics.fmean(v), "std_over_models": statistics.pstdev(v),
                     "min": min(v), "max": max(v), "models": len(v), "source": SOURCE})
    return rows


def main() -> int:
    args = [a for a in sys.argv[1:] if a != "--models"]
    if len(args) != 1:
        print("usage: study_tasks_from_logs.py PATH_TO_co2_inference [--models]  (a checkout or its .git)",
              file=sys.stderr)
        return 2
    models = per_model(Path(args[0]))
    rows = model_rows(models) if "--models" in sys.argv else per_task(models)
    w = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]))
    w.writeheader()
    for r in rows:
        w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
