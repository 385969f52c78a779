"""The reference on a GPU: the jobs of GitHub issue 16 (``--set study``, ``--set paper``) with random weights of the
real architectures and synthetic inputs matched to each dataset's statistics (the GPU machine has no hub).

Each job keeps its protocol's settings (batch size 1, exactly 10 new tokens, 30 denoising steps, dtypes). Its
inputs are sized so that one repeat lasts about 2.5 s on the GPU (long enough for ~25 updates of the energy
counter), and it runs repeats until the 95% interval of GPU Wh per 1,000 is within 10% of the mean (at least 3,
at most --max-repeats, none started past --job-cap seconds): see reference_repeat.py. Jobs are split into parts
(``--part K/N``) sized by an estimate of seconds per job (``--list`` prints it), each part one GPU call.

    python benchmarks/reference.py --set study --list --parts 6          # the plan, its parts and estimates
    python benchmarks/reference.py --set study --part 1/6 --store part1.db --name h200
    python benchmarks/reference.py --set paper --figures docs/results/h200.csv --part 1/3 --store p1.db
    python benchmarks/reference.py --merge part2.db part1.db --newest-first --store h200.db --out docs/results \
        --name h200
    python benchmarks/reference.py --from-export benchmarks/results/h200-runs.csv.gz --name h200 --out docs/results
    python benchmarks/reference.py --smoke --store /tmp/smoke.db --out /tmp/smoke   # CPU, a few seconds a job

Outputs, named after --name (the card). Under --out: <name>.csv (one row per task x model x preset: GPU and total
Wh per 1,000, the 95% CI of the GPU figure, card, driver, commit, inputs, repeats, counter share, the interval's
note, the same run in the study's accounting) and <name>.html; the tables go between the markers of <name>.md.
Under --archive (default benchmarks/results): <name>-runs.csv.gz (every run record), <name>-jobs.json (each job's
stop reason and the other processes seen on its GPU), <name>-flagged.csv (rows left out of the tables) and
<name>-summary.json.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

import reference_plan as rp  # noqa: E402  (the benchmarks folder on the path first)
import reference_repeat as rr  # noqa: E402
import reference_table as rt  # noqa: E402

PRESETS = ("aienergyscore", "paper")
# The smoke subset: CPU, a couple of seconds per job, exercising selection, repeats, flags and the pages.
SMOKE = ("text-generation/distilgpt2", "text-classification/distilbert-sst2")


def overrides(task: str, device: str, repeat_s: float) -> dict:
    """Inputs sized to ``repeat_s`` per repeat from the warm-up; one dataset; no idle window in the settings (a
    call's idle baseline is taken once, by its first job's meter: ``--idle-baseline``). On a CPU (the smoke run)
    float32 and fewer inputs: half precision there is emulated and takes seconds per token."""
    o = {"samples": "auto", "time_budget_s": repeat_s, "min_samples": rp.min_samples(task),
         "max_samples": 1000, "device": device, "weights": "random", "workload": "synthetic", "datasets": 1,
         "idle_seconds": 0.0, "warmup_batches": 1 if task == "image-generation" else 3}
    if device == "cpu":
        o.update(dtype="float32", min_samples=2, warmup_batches=1)
    return o


def _commit() -> str:
    """The code's commit: REF_COMMIT or WATTPRINT_COMMIT (the GPU machine's copy has no .git of its own), else
    git, else empty."""
    import subprocess

    for name in ("REF_COMMIT", "WATTPRINT_COMMIT"):
        if os.environ.get(name):
            return os.environ[name]
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE,
                              timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def selected(args: argparse.Namespace) -> list:
    jobs = rp.plan(args.set, args.figures)
    if args.task:
        jobs = [j for j in jobs if j.task in args.task]
    return rp.select(jobs, args.part, args.only, rp.done_keys(args.skip_done), args.decoder_only)



def run(args: argparse.Namespace) -> int:
    from wattprint.bench.plan import expand
    from wattprint.store.sqlite import Store

    todo = selected(args)
    deadline = time.monotonic() + args.budget
    skipped, commit = [], _commit()
    idle_s = args.idle_baseline  # measured once a call, before the first job that runs loads anything
    with Store(args.store) as store:
        for pj in todo:
            if time.monotonic() > deadline:
                skipped.append(pj.label)
                continue
            for job in expand(pj.preset, [pj.task], [pj.model], overrides(pj.task, args.device, args.repeat_seconds)):
                if _one(job, store, args, commit, idle_s).idle_s > 0:
                    idle_s = 0.0
    if skipped:
        print(f"not run (time budget {args.budget:.0f} s): {', '.join(skipped)}", flush=True)
    Path(args.store + ".skipped.json").write_text(json.dumps(skipped))
    return 0


def _one(job, store, args: argparse.Namespace, commit: str, idle_s: float = 0.0) -> rr.JobLog:
    """One job through the adaptive rule; an unexpected error is logged with the job and the part goes on (one
    model's bug should not cost the rest of a GPU call); GPU memory freed before the next job."""
    import gc

    try:
        log = rr.run_adaptive(job, store, cap_s=args.job_cap, max_repeats=args.max_repeats, commit=commit,
                              idle_s=idle_s)
    except Exception as e:  # noqa: BLE001 - recorded in the sidecar and printed, never silent
        log = rr.JobLog(job.preset, job.task, job.model, stop=f"error: {type(e).__name__}: {str(e)[:200]}",
                        commit=commit)
    rr.save_log(args.store + ".jobs.json", log)
    rel = "n/a" if log.rel_ci95 is None else f"{log.rel_ci95:.1%}"
    shared = "SHARED GPU " if (log.others_before or log.others_after) else ""
    setup = ", ".join(f"{k} {v:.1f}" for k, v in log.stages.items() if k != "repeats" and v >= 0.05)
    if log.idle_s:
        setup = f"idle baseline {log.idle_s:.1f} in start; {setup}"
    print(f"[{log.seconds:6.1f}s] {job.preset:13s} {job.task:22s} {job.model:28s} {log.repeats:2d} repeats, "
          f"CI95 {rel} ({log.basis}), stop: {log.stop} {shared}" + (f"(set-up s: {setup})" if setup else ""),
          flush=True)
    gc.collect()
    if args.device.startswith("cuda"):
        import torch

        torch.cuda.empty_cache()
    return log


def merge(args: argparse.Namespace) -> None:
    """Copy every run of the --merge stores into --store, and their job logs into its sidecar. With --newest-first
    the stores are listed newest first and a job (task, model, preset) found in an earlier-listed store keeps only
    that store's runs and job log: a re-run with a later meter replaces the older runs instead of being averaged
    with them. An archived export (``<name>-runs.csv.gz``) brings the job log archived beside it
    (``<name>-jobs.json``). A sidecar found beside a store that held no runs is replaced, not extended."""
    from wattprint.core.errors import ConfigError
    from wattprint.store.sqlite import Store

    logs: list[dict] = []
    if args.newest_first and Path(args.store).exists():
        with Store(args.store, recover=False) as existing:
            held = len(existing.runs(status=None))
        if held:  # checked before anything is written
            runs = f"{held} run" + ("" if held == 1 else "s")
            raise ConfigError(f"--newest-first needs a new --store: {args.store} already holds {runs}, which would "
                              "stay beside the newer runs of the same jobs; fix: give a path that does not exist, "
                              "or delete that store first")
    with Store(args.store) as out:
        have = {r.run_id for r in out.runs(status=None)}
        taken: set[tuple[str, str, str]] = set()
        for path in args.merge:
            log_path = path + ".jobs.json"
            if path.endswith((".csv", ".csv.gz")):  # an archived export (e.g. the earlier h200-runs.csv.gz)
                log_path = _archived_log(path)
                path = load_export_store(path)
            with Store(path, recover=False) as src:
                runs = src.runs(status=None)
            jobs = {(r.task, r.model, r.preset) for r in runs}
            mine = jobs - taken if args.newest_first else jobs
            for r in runs:
                if r.run_id not in have and (r.task, r.model, r.preset) in mine:
                    out.add(r)
            logs += [e for e in _read_logs(log_path) if (e["task"], e["model"], e["preset"]) in mine]
            taken |= jobs
    sidecar = Path(args.store + ".jobs.json")
    # a sidecar left beside a store that held no runs belongs to another store once at that path: not carried on
    prior = _read_logs(str(sidecar)) if have else []
    if logs or sidecar.exists():
        once = {json.dumps(e, sort_keys=True): e for e in prior + logs}  # a store merged twice: its log once
        sidecar.write_text(json.dumps(list(once.values()), indent=1))


def _archived_log(export: str) -> str:
    """The job log archived beside an export: ``h200-runs.csv.gz`` -> ``h200-jobs.json``."""
    p = Path(export)
    name = p.name.removesuffix(".gz").removesuffix(".csv").removesuffix("-runs")
    return str(p.with_name(f"{name}-jobs.json"))


def _read_logs(path: str) -> list:
    return json.loads(Path(path).read_text()) if Path(path).exists() else []


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


def table(args: argparse.Namespace) -> None:
    """Write <name>.csv, <name>.html and <name>.md's generated part under --out; the run export, job logs, flagged
    rows and summary under --archive."""
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
    jobs_json = archive / f"{args.name}-jobs.json"
    if not args.from_export:  # rebuilt from an export, the export and its job logs stay the archive
        _archive_runs(runs, archive / f"{args.name}-runs.csv.gz")
        if Path(args.store + ".jobs.json").exists():
            shutil.copyfile(args.store + ".jobs.json", jobs_json)
    logs = rr.load_logs(jobs_json)
    groups: dict[tuple[str, str, str], list] = {}
    for r in finished:
        groups.setdefault((r.task, r.model, r.preset), []).append(r)
    idle = IdleLookup(finished)
    rows = [rt.job_row(rs, idle, logs.get((k[2], k[0], k[1]))) for k, rs in sorted(groups.items())]
    for row, (_, rs) in zip(rows, sorted(groups.items())):
        row["card_ratio"] = _card_ratio(rs)
    published, flagged = rt.split_rows(rows)
    header = list(rows[0]) if rows else ["task"]  # an empty file keeps the columns its rows would have
    _write_csv(out / f"{args.name}.csv", published, header)
    _write_csv(archive / f"{args.name}-flagged.csv", flagged, header)
    kept = {(r["task"], r["model"], r["preset"]) for r in published}
    shown = [r for r in finished if (r.task, r.model, r.preset) in kept]
    title = TITLES.get(args.name, f"wattprint reference: {args.name}")
    (out / f"{args.name}.html").write_text(render("html", shown, ReportOptions(title=title)))
    tables = summary_markdown(build_report(shown), level=3) + "\n" + rt.markdown(published, flagged)
    other = OTHER_CARD.get(args.name)
    if other and (out / f"{other}.csv").exists():  # the earlier card's rows, job by job
        with open(out / f"{other}.csv", newline="") as f:
            tables += "\n" + rt.card_comparison(published, list(csv.DictReader(f)), args.name, other)
    if not _splice(out / f"{args.name}.md", tables):
        (archive / f"{args.name}-tables.md").write_text(tables)
    failed = [{"task": r.task, "model": r.model, "preset": r.preset, "status": r.status, "error": r.error}
              for r in runs if r.status != "finished"]
    (archive / f"{args.name}-summary.json").write_text(
        json.dumps({"rows": rows, "not_finished": failed}, indent=1, default=str))
    _print_rows(rows, failed)


def _write_csv(path: Path, rows: list[dict], header: list[str]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=header)
        w.writeheader()
        w.writerows(rows)


def _print_rows(rows: list[dict], failed: list[dict]) -> None:
    print(f"{'preset':13s} {'task':28s} {'model':24s} {'n':>4s} {'GPU Wh/1000':>14s} {'+-CI95':>10s} "
          f"{'total Wh/1000':>14s}")
    for row in rows:
        print(f"{row['preset']:13s} {row['task']:28s} {row['model']:24s} {row['samples']:4d} "
              f"{_g(row['gpu_wh_per_1000'], 14, 4)} {_g(row['gpu_wh_per_1000_ci95'], 10, 2)} "
              f"{_g(row['total_wh_per_1000'], 14, 4)}")
    for f_ in failed:
        print(f"NOT FINISHED {f_}")


# The card each reference is compared with, job by job, where that card's CSV sits beside the output.
OTHER_CARD = {"h200": "h100"}

BEGIN = "<!-- generated by benchmarks/reference.py from the archived runs: edit the script, not this part -->"
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
            by.setdefault(rt.gpu_component(r).get("uuid", ""), []).append(r.gpu_wh_per_1000)
    if len(by) != 2:
        return None
    a, b = (sum(v) / len(v) for v in by.values())
    return b / a if a else None


def _g(v: float | None, width: int, digits: int) -> str:
    return f"{v:{width}.{digits}g}" if v is not None else f"{'n/a':>{width}s}"


def _args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--set", choices=rp.SETS, default="study", help="study: aienergyscore, every study model and the "
                   "modern LLMs; paper: least, median and most energy-hungry model of each study task; refresh: "
                   "the rows of --figures still from an earlier fixed-repeat run")
    p.add_argument("--figures", help="a results CSV: with --set paper its aienergyscore GPU figures rank the models; "
                   "with --set refresh its rows without a stop reason are the jobs")
    p.add_argument("--list", action="store_true", help="print the plan with seconds per job and per part; run nothing")
    p.add_argument("--parts", type=int, help="with --list: show the plan split into this many parts")
    p.add_argument("--part", help="K/N: run the K-th (1-based) of N parts of about equal estimated time")
    p.add_argument("--only", action="append", help="TASK/MODEL (or MODEL): only these jobs")
    p.add_argument("--task", action="append", help="only these tasks")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--decoder-only", dest="decoder_only", action="store_const", const=True,
                   help="only decoder-only text generation (study models and modern LLMs)")
    g.add_argument("--no-decoders", dest="decoder_only", action="store_const", const=False,
                   help="every job but decoder-only text generation")
    p.add_argument("--skip-done", help="a results CSV (this script's --name.csv): leave out the jobs it holds")
    p.add_argument("--store", default="reference.db")
    p.add_argument("--out", default=None, help="write the CSV, HTML and tables here")
    p.add_argument("--archive", default=str(HERE / "results"),
                   help="write the run export, job logs, flagged rows and summary here (default: benchmarks/results)")
    p.add_argument("--from-export", metavar="FILE", help="rebuild the outputs from an export (e.g. "
                   "benchmarks/results/h200-runs.csv.gz) loaded into a temporary store; runs nothing")
    p.add_argument("--device", default="cuda", help="cuda (the reference) or cpu (a smoke test of this script)")
    p.add_argument("--repeat-seconds", type=float, default=rr.REPEAT_SECONDS, help="inputs per repeat sized to this")
    p.add_argument("--max-repeats", type=int, default=12)
    p.add_argument("--job-cap", type=float, default=rp.JOB_CAP_S,
                   help="no repeat of a job starts after this many seconds")
    p.add_argument("--budget", type=float, default=500.0, help="seconds after which no new job starts")
    p.add_argument("--idle-baseline", type=float, default=10.0, metavar="SECONDS",
                   help="measure the card's idle power this long once a call, before the first job that runs "
                        "loads anything (the study accounting's idle GPUs); 0: none")
    p.add_argument("--smoke", action="store_true", help="CPU, two tiny jobs, short repeats: exercises everything")
    p.add_argument("--merge", nargs="+", help="merge these stores (or .csv.gz exports) into --store (no run)")
    p.add_argument("--newest-first", action="store_true",
                   help="with --merge: stores listed newest first; a job's runs come from the first store that has it")
    p.add_argument("--table-only", action="store_true")
    p.add_argument("--name", default="h200", help="file name stem of the outputs: name it after the card (h200, h100)")
    args = p.parse_args(argv)
    if args.smoke:
        args.device, args.only, args.repeat_seconds, args.job_cap = "cpu", list(SMOKE), 0.3, 20.0
        args.idle_baseline = min(args.idle_baseline, 0.5)
        args.max_repeats, args.set = 6, "study"
    return args


def main(argv: list[str] | None = None) -> int:
    from wattprint.core.errors import WattprintError

    args = _args(argv)
    try:
        if args.list:
            print(rp.listing(selected(args), args.parts))
            return 0
        if args.from_export:
            args.store, args.table_only = load_export_store(args.from_export), True
        if args.merge:
            merge(args)
        elif not args.table_only:
            run(args)
        if args.out:
            table(args)
        if args.smoke and args.out:  # the page builder too, on the smoke rows
            import reconciliation

            reconciliation.main(["--results", str(Path(args.out) / f"{args.name}.csv"), "--runs", "",
                                 "--out", str(Path(args.out) / "reconciliation.md")])
    except WattprintError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
