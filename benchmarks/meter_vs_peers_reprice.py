"""Re-price the wattprint windows of recorded meter_vs_peers runs with the meter code as it is now, and pool them.

    PYTHONPATH=src python benchmarks/meter_vs_peers_reprice.py RUN1.json RUN2.json ... [--modes wattprint-settled]

Each wattprint row of a v2 run keeps the meter's own counter readings and power-field samples from 0.35 s
before to 0.35 s after its window, as they stood when the row was resolved (``timeline_readings``). Feeding
them to a fresh ``Timeline`` and resolving the window again shows what a change to the *pricing* (how a
window is resolved from its readings) would have reported on the real card, without a GPU. It cannot show a
change to *which* readings are taken (the sampler's schedule, the budget): those need a new run. Approximate
where the window rests on the power field: the counter/field ratio is learned from 10 s of history, of which
only 0.7 s is recorded.

Prints, per mode and cell, the recorded and the re-priced median |error| and coverage, then the pooled
verdicts of the re-priced runs against the peers (``meter_vs_peers_pool.pool``).
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from meter_common import table  # noqa: E402
from meter_vs_peers import MODES  # noqa: E402
from meter_vs_peers_pool import pool  # noqa: E402
from wattprint.meter.timeline import Timeline  # noqa: E402


def reprice_row(row: dict[str, Any]) -> tuple[float, float]:
    """(energy J, uncertainty J) of a recorded wattprint window, resolved again from its saved readings."""
    rd = row["readings"]
    tl = Timeline()
    for t, w in rd["power"]:
        tl.add_power(t, w)
    for t, e in rd["counter"]:
        tl.add_counter(t, e, aligned=rd.get("phase_s") is not None)
    r = tl.resolve(0.0, row["duration_s"])
    return r.energy_j, r.uncertainty_j


def reprice_run(doc: dict[str, Any], modes: tuple[str, ...]) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    for r in out["rows"]:
        if r["tool"] in modes and r.get("readings") and r.get("truth_j"):
            e, u = reprice_row(r)
            r["recorded_energy_j"], r["energy_j"], r["uncertainty_j"] = r["energy_j"], e, u
            r["error_j"] = e - r["truth_j"]
            r["rel_err"] = r["error_j"] / r["truth_j"]
            r["covered"] = abs(r["error_j"]) <= u
    return out


def _cells(runs: list[dict[str, Any]], mode: str) -> dict[tuple[str, float], list[dict[str, Any]]]:
    cells: dict[tuple[str, float], list[dict[str, Any]]] = {}
    for d in runs:
        for r in d["rows"]:
            if r["tool"] == mode and r.get("rel_err") is not None:
                cells.setdefault((r["load"], r["length_s"]), []).append(r)
    return cells


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--modes", default="wattprint-settled,wattprint-precise-settled")
    a = ap.parse_args()
    modes = tuple(a.modes.split(","))
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        ap.error(f"unknown mode(s) {unknown}; choose from {', '.join(MODES)}")
    runs = [json.loads(Path(f).read_text()) for f in a.runs]
    if any(d.get("version") != 2 for d in runs):
        ap.error("every run must be meter_vs_peers v2 output")
    new = [reprice_run(d, modes) for d in runs]
    for mode in modes:
        before, after = _cells(runs, mode), _cells(new, mode)
        rows = [["load", "L s", "n", "recorded %", "re-priced %", "recorded cov", "re-priced cov"]]
        for key in sorted(after):
            b, n = before[key], after[key]
            rows.append([key[0], key[1], len(n),
                         f"{100 * statistics.median(abs(r['rel_err']) for r in b):.3g}",
                         f"{100 * statistics.median(abs(r['rel_err']) for r in n):.3g}",
                         f"{sum(r.get('covered', False) for r in b) / len(b):.2f}",
                         f"{sum(r['covered'] for r in n) / len(n):.2f}"])
        print(f"# {mode}: median |error| over {len(runs)} runs, recorded and re-priced with this code")
        print(table(rows))
        res = pool(new, mode)
        print(f"# {mode}, re-priced, pooled against each run's best peer")
        print(table([["load", "L s", "wattprint %", "best peer %", "test", "p", "verdict"]] +
                    [[c["load"], c["length_s"], f"{c['ours_median']:.3g}", f"{c['peer_median']:.3g}", c["test"],
                      f"{c['p']:.3f}", c["verdict"]] for c in res]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
