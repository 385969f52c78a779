"""Pool several runs of meter_vs_peers.py (v2 JSON) and rank each wattprint mode against the peers per cell.

    PYTHONPATH=src python benchmarks/meter_vs_peers_pool.py RUN1.json RUN2.json ... [--modes wattprint-settled]

One run decides a cell from 6 windows per tool, and 15 cells are tested at p < 0.05 each: where wattprint and
the best peer are really tied, about one run in two to four shows a "LOSES" or "wins" by chance somewhere.
Pooling the runs gives each cell 6 x runs windows. In each run the best peer is the one with the lowest median
|error| in that cell *in that run* (chosen after the fact, which favours the peers). Cells of 1 s and more
were measured nested (every tool on the same windows): the pooled per-window differences (wattprint's |error|
minus that run's best peer's) get a one-sided sign-flip test. Shorter cells were separate windows: their pooled
|errors| get a one-sided Mann-Whitney permutation test. Both use random relabellings (seeded) when exact
enumeration is too large. Verdicts as in the script: loses (or wins) only when p < 0.05.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from meter_common import table  # noqa: E402
from meter_vs_peers import ALPHA, HEADLINE, PEERS, p_unpaired  # noqa: E402


def p_paired_mc(d: list[float], draws: int = 200_000, seed: int = 7) -> float:
    """One-sided sign-flip p for mean(d) > 0 by random sign assignments (exact enumeration of 2^n is too many
    for pooled runs)."""
    obs = sum(d)
    rng = random.Random(seed)
    hits = sum(sum(x if rng.random() < 0.5 else -x for x in d) >= obs - 1e-12 for _ in range(draws))
    return (hits + 1) / (draws + 1)


def _errs(rows: list[dict[str, Any]], load: str, length: float, tool: str) -> dict[int, float]:
    return {r["window"]: 100 * abs(r["rel_err"]) for r in rows
            if r["load"] == load and r["length_s"] == length and r["tool"] == tool and r.get("rel_err") is not None}


def pool(runs: list[dict[str, Any]], mode: str) -> list[dict[str, Any]]:
    cells = sorted({(r["load"], r["length_s"]) for d in runs for r in d["rows"] if r["tool"] == mode})
    out = []
    for load, length in cells:
        ours_all, peer_all, diffs, bests = [], [], [], []
        for d in runs:
            ours = _errs(d["rows"], load, length, mode)
            peers = {p: e for p in PEERS if (e := _errs(d["rows"], load, length, p))}
            if not ours or not peers:
                continue
            best = min(peers, key=lambda p: statistics.median(peers[p].values()))
            bests.append(best)
            ours_all += list(ours.values())
            peer_all += list(peers[best].values())
            diffs += [ours[w] - peers[best][w] for w in ours if w in peers[best]]
        if not ours_all:
            continue
        worse = statistics.median(ours_all) > statistics.median(peer_all)
        if length >= 1.0 and diffs:
            test = f"paired sign-flip, n={len(diffs)}"
            p = p_paired_mc(diffs if worse else [-x for x in diffs])
        else:
            test = f"Mann-Whitney, n={len(ours_all)}/{len(peer_all)}"
            p = p_unpaired(ours_all, peer_all) if worse else p_unpaired(peer_all, ours_all)
        verdict = ("LOSES" if worse else "wins") if p < ALPHA else "tie"
        out.append({"load": load, "length_s": length, "runs": len(bests), "ours_median": statistics.median(ours_all),
                    "peer_median": statistics.median(peer_all), "best_peers": sorted(set(bests)), "test": test,
                    "p": p, "verdict": verdict})
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", help="meter_vs_peers.json files (v2)")
    ap.add_argument("--modes", default=f"{HEADLINE},wattprint-settled")
    ap.add_argument("--json", help="write the pooled verdicts here")
    a = ap.parse_args()
    runs = [json.loads(Path(f).read_text()) for f in a.runs]
    bad = [f for f, d in zip(a.runs, runs) if d.get("version") != 2]
    if bad:
        ap.error(f"not meter_vs_peers v2 output: {', '.join(bad)}")
    result = {"runs": [{"file": f, "gpu": d["environment"].get("gpu"), "date_utc": d["environment"].get("date_utc")}
                       for f, d in zip(a.runs, runs)], "modes": {}}
    for mode in a.modes.split(","):
        res = pool(runs, mode)
        result["modes"][mode] = res
        print(f"# {mode}: {len(runs)} runs pooled, against each run's best peer (p < {ALPHA} decides)")
        print(table([["load", "L s", "runs", "wattprint %", "best peer %", "peers", "test", "p", "verdict"]] +
                    [[c["load"], c["length_s"], c["runs"], f"{c['ours_median']:.3g}", f"{c['peer_median']:.3g}",
                      "/".join(c["best_peers"]), c["test"], f"{c['p']:.3f}", c["verdict"]] for c in res]))
        lost = [c for c in res if c["verdict"] == "LOSES"]
        print(f"# {mode}: " + ("loses " + ", ".join(f"{c['load']} {c['length_s']} s" for c in lost) if lost
                               else "no cell lost"))
    if a.json:
        Path(a.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
