"""wattprint.bench.host_probe: the host's dispatch and interpreter speed, timed in a few milliseconds."""

from __future__ import annotations

import wattprint.bench.host_probe as hp


def test_a_cpu_probe_times_dispatch_and_the_interpreter_as_the_best_of_its_rounds(monkeypatch):
    times = iter([3e-6, 2e-6, 4e-6])  # three rounds of dispatch: the best (lowest) is kept
    monkeypatch.setattr(hp, "_dispatch", lambda torch, device, n: 9.0 if n == 50 else next(times))
    monkeypatch.setattr(hp, "_python_loop", lambda n: 4e-8)
    assert hp.probe("cpu") == {"device": "cpu", "rounds": 3, "python_ns": 40.0, "dispatch_us": 2.0}


def test_the_real_loops_run_on_this_machine():
    import torch

    assert 0 < hp._dispatch(torch, "cpu", 200) < 0.01 and 0 < hp._python_loop(10_000) < 1e-5


def test_a_device_that_cannot_run_the_op_leaves_dispatch_out_and_says_why(monkeypatch):
    def broken(torch, device, n):
        raise RuntimeError("Found no NVIDIA driver on your system\nmore text")

    monkeypatch.setattr(hp, "_dispatch", broken)
    out = hp.probe("cuda")
    assert "dispatch_us" not in out and out["python_ns"] > 0
    assert out["note"] == "dispatch not timed: RuntimeError: Found no NVIDIA driver on your system"
