"""Workloads, the steady-state window, per-level figures and the Pareto pick, on constructed data."""

from __future__ import annotations

import json
import statistics

import pytest

from wattprint.core.errors import ConfigError, UnknownNameError
from wattprint.loadgen import analysis, pareto, steady
from wattprint.loadgen.client import RequestResult
from wattprint.loadgen.energy import LevelEnergy, Slice
from wattprint.loadgen.runner import Level, LevelRun
from wattprint.loadgen.target import Target
from wattprint.loadgen.workload import DATASETS, RequestSpec, resolve
from wattprint.meter.result import ComponentEnergy, Kind, Method


def test_fixed_workload_has_exact_lengths_and_is_seeded() -> None:
    w = resolve("fixed:12:34", pool=5, seed=3)
    assert [len(s.prompt.split()) for s in w.specs] == [12] * 5
    assert {s.output_tokens for s in w.specs} == {34}
    assert resolve("fixed:12:34", pool=5, seed=3).specs == w.specs
    assert resolve("fixed:12:34", pool=5, seed=4).specs != w.specs


def test_dataset_workload_matches_published_means() -> None:
    stats = DATASETS["lmsys-chat"]
    w = resolve("lmsys-chat", pool=4000, seed=0, max_input=100000, max_output=100000)
    outs = [s.output_tokens for s in w.specs]
    # log-normal matched to 214.5 +- 226.0, clipped at 1024: the mean lands within a few percent
    assert statistics.mean(outs) == pytest.approx(stats.output_mean, rel=0.08)
    assert min(outs) >= stats.minimum and max(outs) <= stats.output_max
    assert "arXiv:2309.11998" in w.description


def test_jsonl_workload_and_its_errors(tmp_path) -> None:
    p = tmp_path / "w.jsonl"
    p.write_text(json.dumps({"prompt": "hi there", "max_tokens": 9}) + "\n\n"
                 + json.dumps({"messages": [{"role": "user", "content": "yo"}]}) + "\n")
    w = resolve(str(p), default_out=5)
    assert [s.output_tokens for s in w.specs] == [9, 5]
    assert w.specs[1].messages == [{"role": "user", "content": "yo"}]
    p.write_text('{"prompt": "x"}\nnot json\n')
    with pytest.raises(ConfigError, match=r"w.jsonl:2: not JSON"):
        resolve(str(p))
    with pytest.raises(UnknownNameError, match="did you mean 'sharegpt'"):
        resolve("sharegtp")


def test_target_bodies_force_length_per_engine() -> None:
    spec = RequestSpec("a b", 7, 2)
    b = Target("http://h:1", "m", force="vllm").body(spec)
    assert b["min_tokens"] == 7 and b["ignore_eos"] is True and b["max_tokens"] == 7
    b = Target("http://h:1/v1", "m", api="completions", force="transformers").body(spec)
    assert json.loads(b["generation_config"]) == {"eos_token_id": -1} and b["prompt"] == "a b"
    assert Target("http://h:1/v1", "m").route == "http://h:1/v1/chat/completions"
    with pytest.raises(UnknownNameError, match="did you mean 'vllm'"):
        Target("http://h:1", "m", force="vlm")


def _req(i: int, start: float, first: float, end: float, n: int = 4, prompt: int = 10) -> RequestResult:
    step = (end - first) / (n - 1)
    return RequestResult(i, start, n, end=end, first_token=first, token_times=[first + k * step for k in range(n)],
                         prompt_tokens=prompt, completion_tokens=n, token_source="usage", stopped=end)


def _closed_two() -> list[RequestResult]:
    # two workers, each request 1 s long, back to back from t=0 to t=4 (the last ones end at 4)
    return [_req(w * 10 + k, k + 0.0, k + 0.2, k + 1.0) for w in range(2) for k in range(4)]


def test_steady_window_closed_loop() -> None:
    res = _closed_two()
    w = steady.find(res, "concurrency", 2, 0.0, 3.0, 4.0)
    assert w.found and w.target == 2
    assert w.t0 == pytest.approx(1.0)  # after the first wave (2 requests) ended
    assert w.t1 == pytest.approx(4.0)
    assert w.held == pytest.approx(1.0)
    snapped, idx = steady.snap(w, [(i * 0.5, i * 0.5 + 0.5) for i in range(8)])
    assert idx == [2, 3, 4, 5, 6, 7] and snapped.t0 == 1.0 and snapped.t1 == 4.0


def test_no_steady_state_when_the_target_is_never_reached() -> None:
    res = [_req(0, 0.0, 0.1, 1.0)]
    w = steady.find(res, "concurrency", 4, 0.0, 1.0, 1.0)
    assert not w.found and "never reached 4" in w.reason


def test_time_mean_of_the_in_flight_steps() -> None:
    st = steady.steps([_req(0, 0.0, 0.1, 2.0), _req(1, 1.0, 1.1, 2.0)])
    assert steady.time_mean(st, 0.0, 2.0) == pytest.approx(1.5)


def _slices(n: int, watts: float, idle_w: float) -> LevelEnergy:
    comp = ComponentEnergy(Kind.GPU, "sim", watts * 0.5, Method.COUNTER, 1.0, "nvml", uuid="GPU-x",
                           idle_power_w=idle_w)
    return LevelEnergy([Slice(i * 0.5, i * 0.5 + 0.5, (comp,), 100.0 + i * watts * 0.5, 100.0 + (i + 1) * watts * 0.5)
                        for i in range(n)], "meter")


def test_level_summary_prices_the_steady_window() -> None:
    run = LevelRun(Level("concurrency", 2), 0.0, t_stop_issuing=3.0, t_end=4.0, results=_closed_two(),
                   energy=_slices(8, 300.0, 100.0), client_cpu_s=0.4, loop_lag_s=[0.001] * 10)
    s = analysis.summarise(run)
    assert s["window"]["found"] and s["window"]["duration_s"] == pytest.approx(3.0)
    e = s["energy"]
    assert e["total_j"] == pytest.approx(900.0) and e["above_idle_j"] == pytest.approx(600.0)
    assert e["gpu_power_w"] == pytest.approx(300.0) and e["edge_probe_j"] == pytest.approx(900.0)
    # tokens inside [1, 4]: requests 1..3 of both workers, 4 tokens each
    assert s["tokens"]["output"] == pytest.approx(24)
    assert s["per"]["j_per_output_token"] == pytest.approx(900.0 / 24)
    assert s["per"]["j_per_request"] == pytest.approx(900.0 / 6)
    assert s["per"]["above_idle_j_per_output_token"] == pytest.approx(600.0 / 24)
    assert s["latency"]["e2e_s"]["p50"] == pytest.approx(1.0)
    assert s["latency"]["ttft_s"]["p95"] == pytest.approx(0.2)
    assert s["batch"]["in_flight_mean"] == pytest.approx(2.0)
    assert not s["client"]["saturated"]


def test_saturated_client_is_flagged() -> None:
    run = LevelRun(Level("concurrency", 2), 0.0, t_stop_issuing=3.0, t_end=4.0, results=_closed_two(),
                   client_cpu_s=3.6, loop_lag_s=[0.2] * 10)
    c = analysis.summarise(run)["client"]
    assert c["saturated"] and "90% of a core" in c["saturated_reason"] and "late" in c["saturated_reason"]


def _summary(label: str, j: float, lat: float, failed: int = 0) -> dict:
    return {"level": {"label": label}, "per": {"j_per_output_token": j}, "interrupted": False,
            "failures": {"failed": failed}, "client": {"saturated": False},
            "latency": {"e2e_s": {"p95": lat}, "ttft_s": {"p95": lat / 10}, "itl_s": {"p95": 0.01}}}


def test_pareto_frontier_and_pick() -> None:
    s = [_summary("c=1", 1.0, 1.0), _summary("c=2", 0.6, 1.2), _summary("c=4", 0.7, 1.5),
         _summary("c=8", 0.3, 3.0), _summary("c=16", 0.1, 2.5, failed=1)]
    assert pareto.frontier(s, "e2e_p95") == [0, 1, 3]
    assert pareto.pick(s, pareto.LatencyTarget.parse("e2e_p95=2")) == 1
    assert pareto.pick(s, pareto.LatencyTarget.parse("e2e_p95=0.5")) is None
    with pytest.raises(UnknownNameError, match="e2e_p95"):
        pareto.LatencyTarget.parse("e2e_p59=1")
