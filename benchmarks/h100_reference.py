"""Reference results on a GPU: the `aienergyscore` and `paper` protocols for every task, with the smallest
and the largest catalog model of each task (and Stable Diffusion XL), random weights of the real
architectures and synthetic inputs matched to each dataset's statistics (the GPU machine has no hub).

The full protocols ask for 1,000 inputs x 10 repeats (x 3 datasets for `paper`); a device session cannot
hold that, so this script keeps the protocol's settings (batch size 1, exactly 10 new tokens, 30 denoising
steps, dtypes) and shrinks the number of inputs and repeats, which every record and the CSV state
(`samples`, `repeats`). Jobs run in priority order within a time budget; what did not fit is listed.

    python benchmarks/h100_reference.py --out docs/results --store docs/results/h100.db
    # split over two GPUs of one machine (each part its own store, merged by --merge):
    CUDA_VISIBLE_DEVICES=0 python benchmarks/h100_reference.py --claim q --store a.db --budget 480 &
    CUDA_VISIBLE_DEVICES=1 python benchmarks/h100_reference.py --claim q --store b.db --budget 480
    python benchmarks/h100_reference.py --merge a.db b.db --store h100.db --out docs/results
    # rebuild the published pages from the archived runs alone (no GPU, no store):
    python benchmarks/h100_reference.py --from-export benchmarks/results/h200-runs.csv.gz --name h200 \
        --out docs/results --archive /tmp/h200-archive

Outputs, named after --name (the card: h100 by default). Under --out: h100.csv (one row per task x model x preset
with GPU and total Wh per 1,000, the 95% CI of the GPU figure over repeats, and the same run in the study's
accounting) and h100.html (the wattprint report); the report's per-task summary and study-accounting view, then the
per-job tables, go between the two markers of h100.md (to --archive as h100-tables.md where the page has none).
Under --archive (default benchmarks/results): h100-runs.csv.gz (every run record, the store's full export,
compressed; kept as it is when the outputs are rebuilt from it) and h100-summary.json.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

PRESETS = ("aienergyscore", "paper")
# Inputs and repeats per preset and task size: small enough for one device session, large enough for a CI.
SAMPLES = {"image-generation": 4, "text-generation": 30, "summarization": 30, "image-captioning": 30,
           "automatic-speech-recognition": 20}
DEFAULT_SAMPLES = 100
REPEATS = 3
IMAGE_GEN_REPEATS = 2
# Models of a billion parameters or more take a smaller share of inputs (still >= 3 repeats for the CI), so the
# largest model of every task fits the same session: half the inputs, fewer for speech (random Whisper weights
# always decode to the 128-token cap) and for SDXL images.
LARGE_PARAMETERS = 1e9
LARGE_SAMPLES = {"image-generation": 3, "automatic-speech-recognition": 6}


def _models(task: str) -> list[str]:
    """The smallest and the largest catalog model of ``task`` (by parameter count), SDXL for images."""
    from wattprint.models.catalog import entries

    es = sorted(entries(task), key=lambda e: e.parameters or 0)
    names = [es[0].name, es[-1].name]
    if task == "image-generation" and "sdxl-base-1.0" not in names:
        names.append("sdxl-base-1.0")
    return list(dict.fromkeys(names))


def plan(tasks: list[str], presets: list[str]) -> list[tuple[str, str, str]]:
    """(preset, task, model) in priority order: every task's smallest model first, then the largest ones."""
    small, large = [], []
    for task in tasks:
        models = _models(task)
        for preset in presets:
            small.append((preset, task, models[0]))
            large += [(preset, task, m) for m in models[1:]]
    # the large jobs longest first (SDXL, then by size), so two GPUs sharing one queue end close together
    large.sort(key=lambda j: (j[2] != "sdxl-base-1.0", -_parameters(j[1], j[2])))
    return small + large


def _parameters(task: str, model: str) -> float:
    from wattprint.models.catalog import entries

    return next((e.parameters or 0 for e in entries(task) if e.name == model), 0)


def _samples(task: str, model: str) -> int:
    if _parameters(task, model) >= LARGE_PARAMETERS:
        return LARGE_SAMPLES.get(task, max(10, SAMPLES.get(task, DEFAULT_SAMPLES) // 2))
    return SAMPLES.get(task, DEFAULT_SAMPLES)


def _claim(folder: str | None, preset: str, task: str, model: str) -> bool:
    """With a claim folder shared by several processes (one per GPU), each job runs once: whoever creates its
    marker first takes it, so the GPUs draw from one queue and finish together."""
    if not folder:
        return True
    import os

    os.makedirs(folder, exist_ok=True)
    try:
        os.mkdir(os.path.join(folder, f"{preset}__{task}__{model}"))
        return True
    except FileExistsError:
        return False


def _overrides(preset: str, task: str, model: str, samples: int | None, repeats: int | None,
               device: str) -> dict:
    n = samples or _samples(task, model)
    r = repeats or (IMAGE_GEN_REPEATS if task == "image-generation" else REPEATS)
    o = {"samples": n, "repeats": r, "device": device, "weights": "random", "workload": "synthetic",
         "datasets": 1, "idle_seconds": 0.0}
    o["warmup_batches"] = 1 if task == "image-generation" else 3
    return o


def run(args: argparse.Namespace) -> int:
    from wattprint.bench.plan import expand
    from wattprint.bench.runner import run_job
    from wattprint.store.sqlite import Store
    from wattprint.tasks.registry import task_names

    tasks = args.task or task_names()
    todo = plan(tasks, args.preset or list(PRESETS))
    if args.part:
        i, n = (int(x) for x in args.part.split("/"))
        todo = todo[i::n]
    if args.model:
        todo = [j for j in todo if j[2] in args.model]
    if args.exclude_model:
        todo = [j for j in todo if j[2] not in args.exclude_model]
    if args.skip_done:  # jobs a results CSV of an earlier session already holds (e.g. docs/results/h200.csv)
        with open(args.skip_done, newline="") as f:
            have = {(row["preset"], row["task"], row["model"]) for row in csv.DictReader(f)}
        todo = [j for j in todo if j not in have]
    deadline = time.monotonic() + args.budget
    skipped = []
    with Store(args.store) as store:
        done = store.done_keys()
        for preset, task, model in todo:
            if time.monotonic() > deadline:
                skipped.append(f"{preset}/{task}/{model}")
                continue
            if not _claim(args.claim, preset, task, model):
                continue
            t0 = time.monotonic()
            jobs = expand(preset, [task], [model],
                          _overrides(preset, task, model, args.samples, args.repeats, args.device))
            for job in jobs:
                recs = run_job(job, store=store, skip_keys=done)
                status = ",".join(sorted({r.status for r in recs})) or "skipped"
                err = next((r.error for r in recs if r.error), "")
                print(f"[{time.monotonic() - t0:6.1f}s] {preset:13s} {task:28s} {model:28s} {status} {err[:120]}",
                      flush=True)
    if skipped:
        print(f"not run (time budget {args.budget:.0f} s): {', '.join(skipped)}", flush=True)
    Path(args.store + ".skipped.json").write_text(json.dumps(skipped))
    return 0


def merge(args: argparse.Namespace) -> None:
    """Copy every run of the --merge stores into --store. With --newest-first the stores are listed newest
    first and a job (task, model, preset) found in an earlier-listed store keeps only that store's runs: a
    re-run with a later meter replaces the older runs instead of being averaged with them."""
    from wattprint.store.sqlite import Store

    with Store(args.store) as out:
        have = {r.run_id for r in out.runs(status=None)}
        taken: set[tuple[str, str, str]] = set()
        for path in args.merge:
            with Store(path, recover=False) as src:
                runs = src.runs(status=None)
            jobs = {(r.task, r.model, r.preset) for r in runs}
            for r in runs:
                if r.run_id not in have and not (args.newest_first and (r.task, r.model, r.preset) in taken):
                    out.add(r)
            taken |= jobs


def _archive_runs(runs: list, path: Path) -> None:
    """The store's full export as gzip-compressed CSV (mtime 0, so the same runs give the same bytes)."""
    from wattprint.store.export import export

    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "runs.csv"
        export(runs, plain, "csv")
        with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=9) as gz:
            gz.write(plain.read_bytes())


def load_export_store(path: str) -> str:
    """A temporary store holding the runs of an export (``wattprint export``, .csv or .csv.gz): the published
    pages are rebuilt from the archived runs alone."""
    from wattprint.report.exported import load_export
    from wattprint.store.sqlite import Store

    store = str(Path(tempfile.mkdtemp(prefix="wattprint-export-")) / "runs.db")
    with Store(store) as s:
        for r in load_export(path):
            s.add(r)
    return store


TITLES = {"h200": "wattprint reference: NVIDIA H200 (the reference card)",
          "h100": "wattprint reference: NVIDIA H100 (the earlier card, secondary to docs/results/h200)"}


def _job_row(rs: list, idle) -> dict:
    """One job (task, model, preset): GPU and total Wh per 1,000 over its repeats, and the study's accounting."""
    from wattprint.report.accounting import study_account

    everything = rs
    counted = [r for r in rs if _gpu_method(r) == "counter"]
    if counted and len(counted) >= 2 and len(counted) < len(rs):
        rs = counted  # a job re-run with counter-anchored windows: its power-field repeats are left out
    gpu = _summary([r.gpu_wh_per_1000 for r in rs])
    tot = _summary([r.wh_per_1000 for r in rs])
    study = [a.kwh_per_1000 * 1000.0 for a in (study_account(r, idle) for r in rs) if a is not None]
    r0 = rs[0]
    return {
        "task": r0.task, "model": r0.model, "model_kind": r0.model_kind, "preset": r0.preset, "samples": r0.samples,
        "repeats": len(rs), "parameters": r0.parameters, "dtype": r0.dtype, "batch_size": r0.batch_size,
        "gpu_wh_per_1000": gpu.mean, "gpu_wh_per_1000_std": gpu.std, "gpu_wh_per_1000_ci95": gpu.ci_half_width,
        "total_wh_per_1000": tot.mean, "total_wh_per_1000_ci95": tot.ci_half_width,
        "latency_p50_s": _mean(r.latency_p50_s for r in rs), "weights": r0.weights, "workload": r0.workload,
        "gpu": _gpu_name(r0),
        "methods": ";".join(sorted({c["method"] + ":" + c["kind"] for r in rs for c in r.components})),
        "gpu_counter_share": sum(_gpu_method(r) == "counter" for r in rs) / len(rs),
        "cards": len({_gpu_uuid(r) for r in rs}), "repeats_left_out": len(everything) - len(rs),
        "card_ratio": _card_ratio(rs),
        # the study's node accounting added back (wattprint.report.accounting): its own column, never the above
        "study_accounting_wh_per_1000": _mean(study),
    }


def table(args: argparse.Namespace) -> None:
    """Write <name>.csv, <name>.html and <name>.md's generated part under --out, <name>-runs.csv.gz and
    <name>-summary.json under --archive, from the store."""
    from wattprint.report.accounting import IdleLookup
    from wattprint.report.build import build_report
    from wattprint.report.formats import ReportOptions, render
    from wattprint.report.text import summary_markdown
    from wattprint.store.sqlite import Store

    with Store(args.store, recover=False) as store:
        runs = store.runs(status=None)
    finished = [r for r in runs if r.status == "finished"]
    out, archive = Path(args.out), Path(args.archive)
    out.mkdir(parents=True, exist_ok=True)
    archive.mkdir(parents=True, exist_ok=True)
    if not args.from_export:  # rebuilt from an export, the export stays the archive (it holds every run)
        _archive_runs(runs, archive / f"{args.name}-runs.csv.gz")
    groups: dict[tuple[str, str, str], list] = {}
    for r in finished:
        groups.setdefault((r.task, r.model, r.preset), []).append(r)
    idle = IdleLookup(finished)
    rows = [_job_row(rs, idle) for _, rs in sorted(groups.items())]
    with open(out / f"{args.name}.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["task"])
        w.writeheader()
        w.writerows(rows)
    title = TITLES.get(args.name, f"wattprint reference: {args.name}")
    (out / f"{args.name}.html").write_text(render("html", finished, ReportOptions(title=title)))
    tables = summary_markdown(build_report(finished), level=3) + "\n" + _markdown(rows)
    if not _splice(out / f"{args.name}.md", tables):
        (archive / f"{args.name}-tables.md").write_text(tables)
    failed = [{"task": r.task, "model": r.model, "preset": r.preset, "status": r.status, "error": r.error}
              for r in runs if r.status != "finished"]
    (archive / f"{args.name}-summary.json").write_text(
        json.dumps({"rows": rows, "not_finished": failed}, indent=1, default=str))
    _print_rows(rows, failed)


def _print_rows(rows: list[dict], failed: list[dict]) -> None:
    print(f"{'preset':13s} {'task':28s} {'model':24s} {'n':>4s} {'GPU Wh/1000':>14s} {'+-CI95':>10s} "
          f"{'total Wh/1000':>14s}")
    for row in rows:
        print(f"{row['preset']:13s} {row['task']:28s} {row['model']:24s} {row['samples']:4d} "
              f"{_g(row['gpu_wh_per_1000'], 14, 4)} {_g(row['gpu_wh_per_1000_ci95'], 10, 2)} "
              f"{_g(row['total_wh_per_1000'], 14, 4)}")
    for f_ in failed:
        print(f"NOT FINISHED {f_}")


def _gpu_component(r) -> dict:
    return next((c for c in r.components if c.get("kind") == "gpu"), {})


def _gpu_method(r) -> str:
    return _gpu_component(r).get("method", "")


def _gpu_uuid(r) -> str:
    return _gpu_component(r).get("uuid", "")


BEGIN = "<!-- generated by benchmarks/h100_reference.py from the archived runs: edit the script, not this part -->"
END = "<!-- end of the generated part -->"


def _splice(page: Path, tables: str) -> bool:
    """Put ``tables`` between the page's two markers; False where the page or its markers are missing."""
    if not page.exists():
        return False
    text = page.read_text()
    if BEGIN not in text or END not in text:
        return False
    head, rest = text.split(BEGIN, 1)
    page.write_text(head + BEGIN + "\n\n" + tables.rstrip("\n") + "\n\n" + END + rest.split(END, 1)[1])
    return True


def _card_ratio(rs) -> float | None:
    """Where repeats ran on two cards: mean GPU Wh/1000 on the second card (by first run) over the first."""
    by: dict[str, list[float]] = {}
    for r in sorted(rs, key=lambda r: r.started_at or 0):
        if r.gpu_wh_per_1000 is not None:
            by.setdefault(_gpu_uuid(r), []).append(r.gpu_wh_per_1000)
    if len(by) != 2:
        return None
    a, b = (sum(v) / len(v) for v in by.values())
    return b / a if a else None


def _num(v: float | None, digits: int = 4) -> str:
    return "n/a" if v is None else f"{v:.{digits}g}"


def _markdown(rows: list[dict]) -> str:
    """The per-preset tables of docs/results/<name>.md, the spread between tasks and the card-to-card check."""
    out = []
    for preset in PRESETS:
        rs = [r for r in rows if r["preset"] == preset]
        if not rs:
            continue
        out += [f"### `{preset}`, every job (fewer inputs and repeats than the protocol: see inputs x repeats)", "",
                "| task | model | kind | parameters | dtype | inputs x repeats | GPU Wh / 1,000 (95% CI) "
                "| GPU+CPU+RAM Wh / 1,000 (95% CI) | GPU method (counter share) | latency p50 |",
                "|---|---|---|---|---|---|---|---|---|---|"]
        for r in rs:
            params = f"{r['parameters'] / 1e6:.0f} M" if r["parameters"] else "n/a"
            lat = f"{r['latency_p50_s'] * 1e3:.1f} ms" if r["latency_p50_s"] is not None else "n/a"
            out.append(f"| {r['task']} | {r['model']} | {r['model_kind']} | {params} | {r['dtype']} "
                       f"| {r['samples']} x {r['repeats']} "
                       f"| {_num(r['gpu_wh_per_1000'])} ± {_num(r['gpu_wh_per_1000_ci95'], 2)} "
                       f"| {_num(r['total_wh_per_1000'])} ± {_num(r['total_wh_per_1000_ci95'], 2)} "
                       f"| {r['gpu_counter_share']:.0%} counter | {lat} |")
        out.append("")
    pairs = [r for r in rows if r.get("card_ratio")]
    if pairs:
        ratios = sorted(r["card_ratio"] for r in pairs)
        out += ["### Card to card", "",
                f"{len(pairs)} jobs ran on two cards (each card its own repeats). Ratio of the second card's mean "
                f"GPU Wh / 1,000 to the first's: median {ratios[len(ratios) // 2]:.3f}, range {ratios[0]:.3f} to "
                f"{ratios[-1]:.3f}.", "", "| preset | task | model | card 2 / card 1 |", "|---|---|---|---|"]
        out += [f"| {r['preset']} | {r['task']} | {r['model']} | {r['card_ratio']:.3f} |" for r in pairs]
        out.append("")
    return "\n".join(out) + "\n"


def _summary(values):
    """Mean, std and CI half-width over repeats (None where no value or one repeat)."""
    from types import SimpleNamespace

    from wattprint.bench.stats import summarize

    vs = [v for v in values if v is not None]
    if not vs:
        return SimpleNamespace(mean=None, std=None, ci_half_width=None)
    return summarize(vs)


def _g(v: float | None, width: int, digits: int) -> str:
    return f"{v:{width}.{digits}g}" if v is not None else f"{'n/a':>{width}s}"


def _mean(values) -> float | None:
    vs = [v for v in values if v is not None]
    return sum(vs) / len(vs) if vs else None


def _gpu_name(r) -> str:
    return _gpu_component(r).get("name", "none")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--store", default="h100.db")
    p.add_argument("--out", default=None, help="write the CSV, HTML and tables here")
    p.add_argument("--archive", default=str(Path(__file__).resolve().parent / "results"),
                   help="write the compressed run export and summary JSON here (default: benchmarks/results)")
    p.add_argument("--from-export", metavar="FILE",
                   help="rebuild the outputs from an export (e.g. benchmarks/results/h200-runs.csv.gz) loaded into a "
                        "temporary store; runs nothing")
    p.add_argument("--task", action="append")
    p.add_argument("--preset", action="append", choices=PRESETS)
    p.add_argument("--samples", type=int, help="inputs per job (default: per task, see SAMPLES)")
    p.add_argument("--repeats", type=int)
    p.add_argument("--device", default="cuda", help="cuda (the reference) or cpu (a smoke test of this script)")
    p.add_argument("--budget", type=float, default=480.0, help="seconds after which no new job starts")
    p.add_argument("--part", help="i/n: run every n-th job starting at i (split over GPUs)")
    p.add_argument("--claim", help="a folder shared by processes on several GPUs: each takes the next unclaimed job")
    p.add_argument("--model", action="append", help="only these catalog models")
    p.add_argument("--exclude-model", action="append", help="leave these catalog models out")
    p.add_argument("--skip-done", help="a results CSV (this script's --name.csv): leave out the jobs it holds")
    p.add_argument("--merge", nargs="+", help="merge these stores into --store (no run)")
    p.add_argument("--newest-first", action="store_true",
                   help="with --merge: stores listed newest first; a job's runs come from the first store that has it")
    p.add_argument("--table-only", action="store_true")
    p.add_argument("--name", default="h100", help="file name stem of the outputs: name it after the card (h100, h200)")
    args = p.parse_args()
    if args.from_export:
        args.store, args.table_only = load_export_store(args.from_export), True
    if args.merge:
        merge(args)
    elif not args.table_only:
        run(args)
    if args.out:
        table(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
