"""The load generator against a fake engine: forced lengths, energy from a simulated GPU, and every way a
sweep can go wrong (endpoint down, unknown model, ignored lengths, failures part-way, Ctrl-C)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wattprint.cli.main import main
from wattprint.core.errors import ConfigError, UnknownNameError
from wattprint.loadgen.energy import MeterEnergy, NoEnergy
from wattprint.loadgen.fake import FakeConfig, FakeEngine
from wattprint.loadgen.runner import Level, LoadSettings
from wattprint.loadgen.sweep import run_sweep
from wattprint.loadgen.target import Target
from wattprint.loadgen.workload import resolve
from wattprint.meter.sim.traces import Constant
from wattprint.serve.testing import free_port, serve_in_thread, sim_gpu_meter
from wattprint.store.sqlite import Store

SRC = str(Path(__file__).resolve().parents[2] / "src")
FAST = LoadSettings(duration_s=1.0, slice_s=0.2)


def _sweep(url: str, levels: list[Level], energy=None, force: str = "vllm", model: str = "fake-model"):
    got: list[dict] = []
    state = run_sweep(Target(url, model, force=force), resolve("fixed:8:12", pool=16), levels, FAST,
                      energy or NoEnergy(), got.append, warmup=2)
    return got, state


def test_sweep_prices_each_level_from_the_simulated_gpu() -> None:
    with serve_in_thread(FakeEngine(FakeConfig(token_s=0.004))) as url:
        meter = sim_gpu_meter(Constant(250.0), noise_w=0)
        try:
            got, state = _sweep(url, [Level("concurrency", 1), Level("concurrency", 3)], MeterEnergy(meter))
        finally:
            meter.close()
    assert [s["level"]["label"] for s in got] == ["c=1", "c=3"] and not state.warnings
    for s in got:
        assert s["window"]["found"] and s["failures"]["failed"] == 0 and s["failures"]["length_mismatch"] == 0
        e = s["energy"]
        # a constant 250 W card: the window's energy is 250 W times its length, whatever the load (the meter's
        # own precision on short windows under a busy CPU is tested in tests/meter; here the plumbing)
        assert e["total_j"] == pytest.approx(250.0 * e["duration_s"], rel=0.05), e
        assert s["per"]["j_per_output_token"] == pytest.approx(e["total_j"] / s["tokens"]["output"])
        # J per token is the card's power over the token rate of the same window
        assert s["per"]["j_per_output_token"] == pytest.approx(
            e["gpu_power_w"] / s["throughput"]["output_tokens_per_s"], rel=1e-6)
    # three requests decode at once: the same power spread over more tokens (how many more depends on how
    # busy the test machine's CPU is)
    assert got[1]["batch"]["decoding_mean"] > 1.5
    assert got[1]["per"]["j_per_output_token"] < got[0]["per"]["j_per_output_token"]


def test_open_loop_rates() -> None:
    with serve_in_thread(FakeEngine(FakeConfig(token_s=0.002))) as url:
        got, _ = _sweep(url, [Level("rate", 20.0)])
    s = got[0]
    assert s["requests"]["ok"] >= 10 and s["failures"]["failed"] == 0
    assert s["throughput"]["requests_per_s"] == pytest.approx(20.0, rel=0.6)


def test_endpoint_down_is_one_clear_error() -> None:
    port = free_port()
    with pytest.raises(ConfigError, match=f"cannot reach the endpoint http://127.0.0.1:{port}/v1") as e:
        _sweep(f"http://127.0.0.1:{port}", [Level("concurrency", 1)])
    assert "--url" in (e.value.fix or "")


def test_unknown_model_suggests_the_served_one() -> None:
    with serve_in_thread(FakeEngine()) as url, pytest.raises(UnknownNameError, match="did you mean 'fake-model'"):
        _sweep(url, [Level("concurrency", 1)], model="fake-modle")


def test_engine_that_ignores_the_length_is_flagged() -> None:
    with serve_in_thread(FakeEngine(FakeConfig(ignore_length=True, fixed_tokens=5))) as url:
        got, state = _sweep(url, [Level("concurrency", 2)])
    assert any("does not honour the requested length" in w for w in state.warnings)
    f = got[0]["failures"]
    assert f["length_mismatch"] == got[0]["requests"]["ok"] > 0 and f["length_mismatch_example"] == "asked 12, got 5"


def test_requests_failing_part_way_are_counted_not_dropped() -> None:
    with serve_in_thread(FakeEngine(FakeConfig(token_s=0.002, fail_every=3))) as url:
        got, _ = _sweep(url, [Level("concurrency", 3)])
    f, r = got[0]["failures"], got[0]["requests"]
    assert f["failed"] > 0 and r["sent"] == r["ok"] + f["failed"]
    assert f["errors"] == {"error in stream: engine failed part-way (fake)": f["failed"]}


def test_ctrl_c_keeps_finished_levels_and_counts_the_cut_requests(tmp_path) -> None:
    db = tmp_path / "runs.db"
    with serve_in_thread(FakeEngine(FakeConfig(token_s=0.01))) as url:
        cmd = [sys.executable, "-m", "wattprint", "serve-bench", "--url", url, "--model", "fake-model",
               "--concurrency", "1,4,8", "--duration", "1.5", "--workload", "fixed:4:40", "--energy", "none",
               "--warmup", "1", "--store", str(db)]
        env = {**os.environ, "PYTHONPATH": SRC}
        proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env)
        assert proc.stderr is not None
        lines = []
        for line in proc.stderr:  # the first level's row, then Ctrl-C in the second
            lines.append(line)
            if line.startswith("c=1 "):
                time.sleep(0.8)
                proc.send_signal(signal.SIGINT)
                break
        rest = proc.communicate(timeout=30)[1]
    assert proc.returncode == 130, "".join(lines) + rest
    assert "interrupted: 1 level(s) finished and kept" in rest
    with Store(db) as store:
        recs = store.runs(status=None)
    assert [r.status for r in recs] == ["finished", "aborted"]
    cut = recs[1].serving["failures"]
    assert cut["errors"].get("interrupted (Ctrl-C) before it finished", 0) >= 1
    assert any("interrupted" in w for w in recs[1].warnings)


def test_cli_bad_input_writes_nothing(tmp_path, capsys) -> None:
    db = tmp_path / "x.db"
    base = ["serve-bench", "--model", "m", "--store", str(db)]
    assert main([*base, "--concurrency", "1,2", "--rate", "1"]) == 2
    assert "--concurrency and --rate together" in capsys.readouterr().err
    assert main([*base, "--concurrency", "1,two"]) == 2
    assert main([*base, "--concurrency", "1.5"]) == 2
    assert "positive integer" in capsys.readouterr().err
    assert main([*base, "--report", "out.pdf"]) == 2
    assert main([*base, "--workload", "fixed:0:4"]) == 2
    assert main([*base, "--url", f"http://127.0.0.1:{free_port()}", "--concurrency", "1"]) == 2
    assert "cannot reach the endpoint" in capsys.readouterr().err
    assert not db.exists()


def test_remote_engine_priced_from_the_proxys_receipts() -> None:
    from wattprint.serve.testing import running_proxy

    with serve_in_thread(FakeEngine(FakeConfig(token_s=0.004))) as upstream:
        meter = sim_gpu_meter(Constant(200.0), noise_w=0)
        try:
            with running_proxy(upstream, meter) as (url, _acct, _metrics):
                got, _ = _sweep(url, [Level("concurrency", 2)])
        finally:
            meter.close()
    s = got[0]
    assert s["energy"] is None and s["energy_source"] == "none"
    rec = s["receipts"]
    assert rec is not None and rec["requests"] >= 3 and rec["energy_j"] > 0
    assert rec["j_per_output_token"] == pytest.approx(rec["energy_j"] / (12 * rec["requests"]))
    # two requests share a 200 W card: each receipt is at most the card's energy over its own duration
    assert rec["j_per_request"] <= 200.0 * s["latency"]["e2e_s"]["p99"] * 1.1


def test_connections_cut_mid_stream_are_counted_with_their_error() -> None:
    with serve_in_thread(FakeEngine(FakeConfig(token_s=0.002, drop_every=4))) as url:
        got, _ = _sweep(url, [Level("concurrency", 2)])
    f, r = got[0]["failures"], got[0]["requests"]
    assert f["failed"] > 0 and r["sent"] == r["ok"] + f["failed"]
    assert all("RemoteProtocolError" in e or "ReadError" in e for e in f["errors"]), f["errors"]
