"""How much does the host around an H200 move a reference row? The same jobs measured on two machines, compared.

A lent single-GPU machine is a card and a share of a host. Batch-1 loops wait on the host between small kernels, so
the same job on the same kind of card can take longer, and hold the card longer, on one host than on another. When
two reference calls measure the same jobs (a machine returned between calls, or a check run on purpose), this
compares them job by job: each job's GPU Wh per 1,000 (mean over its repeats, with the 95% interval of the
ratio), its latency and the card's mean power (medians over the repeats), then the spread of the ratios; and, where
the records carry a host probe before each repeat, how far the repeats' spread within a job follows it.

    python benchmarks/host_check.py call2/ref.db call4/ref.db     # (the stores in the run archive)
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from lane_check import load  # noqa: E402  (the read-only store reader the lane check uses)


def jobs(runs: list[Any]) -> dict[tuple[str, str, str], list[Any]]:
    """Finished repeats with a GPU figure, by (preset, task, model)."""
    out: dict[tuple[str, str, str], list[Any]] = {}
    for r in runs:
        if r.gpu_energy_j is not None and r.inferences:
            out.setdefault((r.preset, r.task, r.model), []).append(r)
    return out


def per_1000(rs: list[Any]) -> tuple[float, float]:
    """Mean GPU Wh per 1,000 over the repeats and its standard error."""
    from wattprint.core.units import J_PER_WH

    v = [r.gpu_energy_j / J_PER_WH / r.inferences * 1000 for r in rs]
    se = statistics.stdev(v) / math.sqrt(len(v)) if len(v) > 1 else 0.0
    return statistics.fmean(v), se


def _probe(r: Any) -> dict[str, Any]:
    return (r.environment or {}).get("host_probe") or {}


def host(runs: list[Any]) -> str:
    """The card UUID and the CPU the first record names, and the host probe's dispatch time (median over runs)."""
    if not runs:
        return "?"
    env = runs[0].environment or {}
    gpu = (env.get("gpus") or [{}])[0]
    hw = env.get("hardware") or {}
    cpu = " ".join(str(hw[k]) for k in ("cpu_model", "cpu_id", "cpu_mhz") if hw.get(k))  # id, MHz: newer records
    probes = [p["dispatch_us"] for p in map(_probe, runs) if "dispatch_us" in p]
    probe = f", dispatch {statistics.median(probes):.2f} µs per op" if probes else ""
    return f"{gpu.get('uuid', '?')[:12]}, {cpu or '?'}, {hw.get('cpu_cores_logical', '?')} cores{probe}"


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def compare(a: list[Any], b: list[Any]) -> list[dict[str, Any]]:
    """One row per job both stores hold: B over A for energy (with its 95% interval), latency and power."""
    from wattprint.bench.stats import t_quantile

    ja, jb = jobs(a), jobs(b)
    rows = []
    for key in sorted(ja.keys() & jb.keys()):
        (ma, sa), (mb, sb) = per_1000(ja[key]), per_1000(jb[key])
        ratio = mb / ma
        # delta method on the ratio of two independent means; t with the smaller repeat count
        rel = math.hypot(sa / ma, sb / mb)
        t = t_quantile(0.975, max(1, min(len(ja[key]), len(jb[key])) - 1))
        lat = [_median([r.latency_p50_s for r in rs if r.latency_p50_s]) for rs in (ja[key], jb[key])]
        watts = [_median([r.gpu_energy_j / r.duration_s for r in rs if r.duration_s]) for rs in (ja[key], jb[key])]
        rows.append({"job": key, "a": ma, "b": mb, "ratio": ratio, "ci": ratio * t * rel,
                     "repeats": (len(ja[key]), len(jb[key])), "latency": lat, "watts": watts})
    return rows


def within_jobs(runs: list[Any]) -> tuple[int, float | None]:
    """Repeats with a host probe, pooled over jobs: each repeat's GPU energy per input and its probe's dispatch
    time, both as logs relative to their job's median; (repeats, Pearson r of the two). r near 1: the repeats'
    spread is the host's speed; near 0: something else."""
    xs, ys = [], []
    for rs in jobs(runs).values():
        pairs = [(r.gpu_energy_j / r.inferences, _probe(r).get("dispatch_us")) for r in rs]
        pairs = [(e, d) for e, d in pairs if d and e > 0]
        if len(pairs) < 3:
            continue
        me, md = statistics.median(e for e, _ in pairs), statistics.median(d for _, d in pairs)
        xs += [math.log(d / md) for _, d in pairs]
        ys += [math.log(e / me) for e, _ in pairs]
    if len(xs) < 3 or len(set(xs)) < 2 or len(set(ys)) < 2:
        return len(xs), None
    return len(xs), statistics.correlation(xs, ys)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("stores", nargs=2, help="two stores holding the same jobs (A, then B)")
    args = p.parse_args(argv)
    from wattprint.core.errors import WattprintError

    try:
        a, b = (load(s) for s in args.stores)
    except WattprintError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    rows = compare(a, b)
    if not rows:
        print("error: the two stores hold no job in common; give two stores that measured the same jobs",
              file=sys.stderr)
        return 2
    print(f"A: {args.stores[0]} ({host(a)})\nB: {args.stores[1]} ({host(b)})\n")
    print(f"{'task':<22} {'model':<30} {'A Wh/1000':>10} {'B Wh/1000':>10} {'B/A':>6} {'±95%':>6} "
          f"{'repeats':>7} {'p50 s A':>8} {'p50 s B':>8} {'W A':>6} {'W B':>6}")
    for r in rows:
        _, task, model = r["job"]
        print(f"{task:<22} {model:<30} {r['a']:>10.4g} {r['b']:>10.4g} {r['ratio']:>6.3f} {r['ci']:>6.3f} "
              f"{r['repeats'][0]:>3}/{r['repeats'][1]:<3} {r['latency'][0]:>8.4f} {r['latency'][1]:>8.4f} "
              f"{r['watts'][0]:>6.1f} {r['watts'][1]:>6.1f}")
    ratios = sorted(r["ratio"] for r in rows)
    apart = sum(1 for r in rows if abs(r["ratio"] - 1) > r["ci"])
    lat = sorted(r["latency"][1] / r["latency"][0] for r in rows if r["latency"][0] > 0)
    print(f"\n{len(rows)} jobs: B/A GPU energy median {statistics.median(ratios):.3f}, geometric mean "
          f"{math.exp(statistics.fmean(map(math.log, ratios))):.3f}, range {ratios[0]:.3f}-{ratios[-1]:.3f}; "
          f"{apart} of {len(rows)} differ beyond their 95% interval; median latency B/A "
          f"{statistics.median(lat) if lat else math.nan:.3f}")
    for name, runs in zip("AB", (a, b)):
        n, r = within_jobs(runs)
        if r is not None:
            print(f"{name}, within jobs: repeats' GPU energy per input against the host probe's dispatch time "
                  f"(logs over each job's median), r = {r:.2f} over {n} repeats")
    return 0


if __name__ == "__main__":
    sys.exit(main())
