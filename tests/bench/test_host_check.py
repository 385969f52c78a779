"""benchmarks/host_check.py: the same jobs measured on two hosts, compared job by job."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from tests.cli.cli_helpers import make_record  # noqa: E402

import host_check as hc  # noqa: E402
from wattprint.store.sqlite import Store  # noqa: E402


def _store(path: Path, jobs: dict[str, list[float]], latency: float, uuid: str) -> str:
    env = {"gpus": [{"uuid": uuid}], "hardware": {"cpu_model": "Xeon", "cpu_cores_logical": 16},
           "host_probe": {"dispatch_us": latency * 500}}
    with Store(path) as store:
        for model, joules in jobs.items():
            for i, j in enumerate(joules):
                store.add(make_record("text-classification", model, j, inferences=100, repeat=i,
                                      preset="aienergyscore", gpu_energy_j=j, duration_s=j / 200,
                                      latency_p50_s=latency, environment=env))
    return str(path)


def test_jobs_in_both_stores_get_their_ratio_interval_latency_and_power(tmp_path, capsys):
    a = _store(tmp_path / "a.db", {"m1": [36.0, 36.0, 36.0], "m2": [72.0, 70.0, 74.0], "only-a": [1.0]}, 0.01,
               "GPU-aaaa1111-2222")
    b = _store(tmp_path / "b.db", {"m1": [27.0, 27.0, 27.0], "m2": [72.0, 71.0, 73.0]}, 0.008, "GPU-bbbb1111-2222")
    rows = hc.compare(*(hc.load(p) for p in (a, b)))
    assert [r["job"][2] for r in rows] == ["m1", "m2"]  # the job only A holds is not compared
    m1, m2 = rows
    assert m1["a"] == pytest.approx(0.1) and m1["b"] == pytest.approx(0.075)  # 36 J / 3.6 / 100 inputs x 1,000
    assert m1["ratio"] == pytest.approx(0.75) and m1["ci"] == 0.0  # identical repeats: no spread
    assert m2["ratio"] == pytest.approx(1.0) and m2["ci"] > 0
    assert m1["latency"] == [0.01, 0.008] and m1["watts"] == [pytest.approx(200.0)] * 2
    assert hc.main([a, b]) == 0
    out = capsys.readouterr().out
    assert "GPU-aaaa1111, Xeon, 16 cores, dispatch 5.00 µs per op" in out
    assert "2 jobs: B/A GPU energy median 0.875" in out and "1 of 2 differ beyond their 95% interval" in out
    assert "median latency B/A 0.800" in out


def test_stores_without_a_common_job_or_missing_are_refused_in_one_line(tmp_path, capsys):
    a = _store(tmp_path / "a.db", {"m1": [36.0, 36.0]}, 0.01, "GPU-a")
    b = _store(tmp_path / "b.db", {"m2": [36.0, 36.0]}, 0.01, "GPU-b")
    assert hc.main([a, b]) == 2
    assert "no job in common" in capsys.readouterr().err
    assert hc.main([str(tmp_path / "none.db"), b]) == 2 and not (tmp_path / "none.db").exists()


def test_within_jobs_correlates_each_repeats_energy_with_its_host_probe():
    from types import SimpleNamespace

    def rep(model, joules, dispatch):
        return SimpleNamespace(preset="p", task="t", model=model, gpu_energy_j=joules, inferences=10,
                               environment={"host_probe": {"dispatch_us": dispatch}})

    follows = [rep("m", j, d) for j, d in ((10, 5), (12, 6), (8, 4), (11, 5.5))]
    follows += [rep("k", j, d) for j, d in ((100, 5), (130, 6.5), (90, 4.5))]
    n, r = hc.within_jobs(follows)
    assert n == 7 and r == pytest.approx(1.0)
    n, r = hc.within_jobs([rep("m", j, 5.0) for j in (10, 12, 8)])  # the probe never moved: nothing to say
    assert n == 3 and r is None
    assert hc.within_jobs([rep("m", 10, None), rep("m", 11, None), rep("m", 9, None)]) == (0, None)
