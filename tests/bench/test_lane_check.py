"""benchmarks/lane_check.py: repeats while the other lane measured against repeats while it did not."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from tests.cli.cli_helpers import make_record  # noqa: E402

import lane_check as lc  # noqa: E402
from wattprint.store.sqlite import Store  # noqa: E402


def _run(model, t0, t1, joules, n=10, task="fill-mask"):
    return SimpleNamespace(preset="aienergyscore", task=task, model=model, started_at=t0, finished_at=t1,
                           gpu_energy_j=joules, inferences=n)


def test_repeats_are_split_by_the_other_lanes_windows_and_scaled_by_their_jobs_median():
    mine = [_run("a", 0, 1, 10.0), _run("a", 1, 2, 12.0), _run("a", 2, 3, 10.0), _run("b", 5, 6, 30.0)]
    other = [_run("x", 0.5, 1.5, 99.0)]  # overlaps the first two repeats of "a" only
    busy, idle = lc.relative_energy(mine, other)
    assert busy == [1.0, 1.2] and idle == [1.0, 1.0]
    d, half = lc.shift(busy, idle)
    assert d == pytest.approx(0.1) and half > 0
    assert lc.shift([1.0], idle) is None and lc.describe([1.0]) == "n=1"


def test_main_reads_two_stores_and_says_how_much_a_busy_lane_shifts(tmp_path, capsys):
    paths = []
    lanes = [[_run("a", i, i + 1, 10.0 + (i % 2)) for i in range(6)],
             [_run("b", i + 0.5, i + 1, 5.0) for i in range(0, 6, 2)]]
    for k, runs in enumerate(lanes):
        path = tmp_path / f"lane{k}.db"
        with Store(path) as store:
            for i, r in enumerate(runs):
                store.add(make_record(r.task, r.model, r.gpu_energy_j, inferences=r.inferences, repeat=i,
                                      preset=r.preset, gpu_energy_j=r.gpu_energy_j, started_at=r.started_at,
                                      finished_at=r.finished_at))
        paths.append(str(path))
    assert lc.main(paths) == 0
    out = capsys.readouterr().out
    assert f"{paths[0]}: other lane measuring: n=3" in out and f"{paths[0]}: shift " in out
    assert lc.main([str(tmp_path / "none.db"), paths[1]]) == 2 and not (tmp_path / "none.db").exists()
