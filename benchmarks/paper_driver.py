"""What the driver changes: the `paper` preset's jobs run direct and through transformers pipelines, side by side.

For each (task, model) below, the same inputs (synthetic, matched to the task's first study dataset), batch 1,
fp32, run once with ``driver = "direct"`` and once with ``driver = "pipeline"``; printed per driver: energy
per 1,000 inferences (total and GPU), time per inference, and the record's ``driver`` (which says where the
pipeline did not apply). The difference is what a pipeline call's own Python (input checks, per-call
preprocess/postprocess, the collate step) adds to the measured window.

Random weights from the catalog's configs, synthetic inputs: no hub. Writes JSON to $OUT (or --out).

    python benchmarks/paper_driver.py --device cpu --samples 5 --repeats 1   # a check, about two minutes
    python benchmarks/paper_driver.py --device cuda                          # the figure: 200 inputs x 3 repeats
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # run from a checkout without installing

from wattprint.bench.plan import expand  # noqa: E402
from wattprint.bench.runner import run_job  # noqa: E402

# (task, catalog model, first study dataset): one small study model per task that has a pipeline under paper,
# BLOOMZ zero-shot (text-generation pipeline), and one that falls back (Flan-T5: no text2text pipeline)
JOBS = [("text-classification", "distilbert-sst2", "imdb"), ("token-classification", "bert-base-ner", "conll2003"),
        ("fill-mask", "distilbert-base-uncased", "c4"), ("text-generation", "distilgpt2", "wikitext"),
        ("image-classification", "resnet-50", "imagenet-1k"), ("object-detection", "detr-resnet-50", "coco"),
        ("text-classification", "bloomz-560m", "imdb"), ("question-answering", "flan-t5-base", "squad")]


def run(task: str, model: str, dataset: str, driver: str, args: argparse.Namespace) -> dict[str, Any]:
    settings = {"driver": driver, "device": args.device, "samples": args.samples, "repeats": args.repeats,
                "weights": "random", "workload": "synthetic", "idle_seconds": 0, "warmup_batches": 3,
                "dataset": [dataset]}
    (job,) = expand("paper", [task], [model], settings)
    records = [r for r in run_job(job) if r.status == "finished"]
    if not records:
        return {"driver": driver, "error": "no finished repeat"}
    wh = [r.wh_per_1000 for r in records if r.wh_per_1000 is not None]
    gpu = [r.gpu_wh_per_1000 for r in records if r.gpu_wh_per_1000 is not None]
    per_input = [r.duration_s / max(1, r.inferences) for r in records]
    return {"driver": driver, "ran": records[0].driver, "repeats": len(records),
            "wh_per_1000": statistics.mean(wh) if wh else None,
            "gpu_wh_per_1000": statistics.mean(gpu) if gpu else None,
            "s_per_inference": statistics.mean(per_input), "warnings": records[0].warnings}


def line(task: str, model: str, r: dict[str, Any]) -> str:
    if "error" in r:
        return f"{task:22} {model:24} {r['driver']:8} {r['error']}"
    gpu = f"{r['gpu_wh_per_1000']:.4g}" if r["gpu_wh_per_1000"] is not None else "-"
    return (f"{task:22} {model:24} {r['driver']:8} {r['wh_per_1000']:10.4g} {gpu:>10} "
            f"{r['s_per_inference'] * 1000:9.2f}  {r['ran']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=os.environ.get("OUT", "."))
    args = ap.parse_args()
    print(f"{'task':22} {'model':24} {'driver':8} {'Wh/1000':>10} {'GPU Wh/1000':>10} {'ms/inf':>9}  driver ran")
    results = []
    for task, model, dataset in JOBS:
        for driver in ("direct", "pipeline"):
            r = run(task, model, dataset, driver, args)
            print(line(task, model, r), flush=True)
            results.append({"task": task, "model": model, "dataset": dataset, **r})
    out = Path(args.out) / "paper_driver.json"
    out.write_text(json.dumps({"device": args.device, "samples": args.samples, "repeats": args.repeats,
                               "results": results}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
