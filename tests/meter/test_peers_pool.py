"""benchmarks/meter_vs_peers_pool.py: pooling runs of the peers benchmark decides cells one run cannot."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import meter_vs_peers_pool as pool  # noqa: E402


def _run(rng: random.Random, ours_err: float, peer_err: float, length: float) -> dict:
    """One synthetic v2 run: 6 windows per tool in one cell, |errors| around the given levels (%)."""
    rows = []
    for w in range(6):
        base = rng.uniform(0.5, 1.5)  # nested windows share their difficulty
        rows.append({"load": "bursty", "length_s": length, "tool": "wattprint-precise-settled", "window": w,
                     "rel_err": base * ours_err / 100 * rng.choice((-1, 1))})
        for p, scale in (("zeus", 1.0), ("codecarbon", 1.3)):
            rows.append({"load": "bursty", "length_s": length, "tool": p, "window": w,
                         "rel_err": base * peer_err * scale / 100 * rng.uniform(0.9, 1.1)})
    return {"version": 2, "environment": {"gpu": "test", "date_utc": "today"}, "rows": rows}


def test_a_small_steady_gap_shows_only_when_runs_are_pooled():
    rng = random.Random(3)
    runs = [_run(rng, 0.6, 0.5, 1.07) for _ in range(4)]  # wattprint 20% worse, every window
    (one,) = pool.pool(runs[:1], "wattprint-precise-settled")
    (four,) = pool.pool(runs, "wattprint-precise-settled")
    assert one["test"].startswith("paired sign-flip, n=6") and four["test"] == "paired sign-flip, n=24"
    assert four["best_peers"] == ["zeus"] and four["runs"] == 4
    assert four["verdict"] == "LOSES" and four["p"] < one["p"]


def test_a_tie_stays_a_tie_and_short_cells_use_mann_whitney():
    rng = random.Random(5)
    runs = [_run(rng, 10.0, 10.0, 0.34) for _ in range(4)]
    for r in runs:  # separate windows, one peer (picking the better of two per run favours the peers)
        r["rows"] = [row for row in r["rows"] if row["tool"] != "codecarbon"]
        for row in r["rows"]:
            row["rel_err"] = rng.uniform(0.0, 0.2)
    (c,) = pool.pool(runs, "wattprint-precise-settled")
    assert c["test"] == "Mann-Whitney, n=24/24"
    assert c["verdict"] == "tie", c


def test_the_command_line_pools_files_and_refuses_other_json(tmp_path, capsys):
    rng = random.Random(7)
    files = []
    for i in range(2):
        f = tmp_path / f"run{i}.json"
        f.write_text(json.dumps(_run(rng, 0.2, 0.5, 3.1)))
        files.append(str(f))
    out = tmp_path / "pooled.json"
    sys.argv = ["pool", *files, "--modes", "wattprint-precise-settled", "--json", str(out)]
    assert pool.main() == 0
    printed = capsys.readouterr().out
    assert "2 runs pooled" in printed and "no cell lost" in printed
    (cell,) = json.loads(out.read_text())["modes"]["wattprint-precise-settled"]
    assert cell["verdict"] == "wins"
    bad = tmp_path / "v1.json"
    bad.write_text(json.dumps({"version": 1, "rows": []}))
    sys.argv = ["pool", str(bad)]
    try:
        pool.main()
    except SystemExit as e:
        assert e.code == 2
    else:
        raise AssertionError("a v1 file was accepted")


def test_a_recorded_window_is_priced_again_from_its_readings():
    import meter_vs_peers_reprice as rp

    # 200 W steady: counter readings every 100 ms (aligned to refreshes), field samples every 100 ms
    readings = {"counter": [[-0.35 + 0.1 * k, 1000.0 + 20.0 * k] for k in range(11)],
                "power": [[-0.3 + 0.1 * k, 200.0] for k in range(10)], "phase_s": -0.35, "period_s": 0.1}
    row = {"load": "steady", "length_s": 0.34, "tool": "wattprint-settled", "window": 0, "duration_s": 0.34,
           "energy_j": 70.0, "uncertainty_j": 1.0, "truth_j": 68.0, "rel_err": 2 / 68, "readings": readings}
    e, u = rp.reprice_row(row)
    assert abs(e - 68.0) < 1e-6 and u > 0
    (again,) = rp.reprice_run({"version": 2, "rows": [row]}, ("wattprint-settled",))["rows"]
    assert again["recorded_energy_j"] == 70.0 and abs(again["rel_err"]) < 1e-9 and again["covered"]
    assert row["energy_j"] == 70.0  # the recorded run is left as it was
