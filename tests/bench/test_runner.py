"""The runner on real tiny models (configs + a real tokenizer, CPU), a real Meter and a real SQLite file."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from tiny import TINY_BERT, TINY_GPT2, tiny_model  # noqa: E402

from wattprint.bench.plan import expand, plan_key  # noqa: E402
from wattprint.bench.runner import run_job  # noqa: E402
from wattprint.core.units import J_PER_WH  # noqa: E402
from wattprint.store.sqlite import Store  # noqa: E402

pytestmark = pytest.mark.slow

CLS = {"weights": "random", "samples": 6, "repeats": 2, "batch_size": 2, "idle_seconds": 0.2, "warmup_batches": 1}
GEN = {"weights": "random", "samples": 3, "repeats": 1, "batch_size": 1, "idle_seconds": 0,
       "params": {"max_new_tokens": 4}}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    return {"bert": tiny_model(root, "bert", TINY_BERT), "gpt2": tiny_model(root, "gpt2", TINY_GPT2)}


def cpu_meter(**kw):
    from wattprint.meter.meter import Meter

    return Meter(**{**kw, "gpus": None})


def test_classification_records_counts_units_and_store(models, tmp_path):
    (job,) = expand("quick", ["text-classification"], [models["bert"]], CLS)
    seen = []
    with Store(tmp_path / "w.db") as store:
        records = run_job(job, store=store, meter_factory=cpu_meter, on_record=seen.append)
        stored = store.runs()
    assert [r.status for r in records] == ["finished", "finished"] and seen == records
    assert [r.run_id for r in stored] == [r.run_id for r in records]
    assert len({r.plan_key for r in records}) == 2 and records[0].plan_key == plan_key(job, 0)
    for r in records:
        assert r.inferences == 6 and r.samples == 6 and r.batch_size == 2
        assert r.weights == "random" and r.workload == "synthetic" and r.model_source.startswith("config:local:")
        assert r.energy_j > 0 and r.duration_s > 0
        # the parts add up to the total, and every part says how it was obtained
        assert r.energy_j == pytest.approx(r.cpu_energy_j + r.ram_energy_j + r.gpu_energy_j)
        assert {c["kind"] for c in r.components} == {"cpu", "ram"}
        assert all(c["method"] == "estimated" for c in r.components)
        assert r.wh_per_1000 == pytest.approx(r.energy_j / J_PER_WH / 6 * 1000)
        assert r.gpu_wh_per_1000 is None and r.wh_per_token is None  # no GPU measured, nothing generated
        assert 0 < r.latency_p50_s <= r.latency_p95_s <= r.duration_s
        assert r.throughput == pytest.approx(6 / r.duration_s)
        assert 0 <= r.harness_overhead < 0.5
        assert r.load_energy_j > 0 and r.load_duration_s > 0
        assert r.idle_power_w is not None and r.idle_power_w >= 0  # recorded, not subtracted
        assert r.flops_per_inference > 0 and r.flops_method.startswith("counted")
        assert r.parameters > 900_000 and r.task_version
        assert r.settings["samples"] == 6 and r.settings["device"] == "cpu"
        assert r.environment["hardware"]["cpu_cores_logical"] >= 1 and "libraries" in r.environment
        probe = r.environment["host_probe"]  # timed before each repeat's window: each record its own
        assert probe["device"] == "cpu" and probe["dispatch_us"] > 0 and probe["python_ns"] > 0
        assert r.gco2e_per_1000 == pytest.approx(r.gco2e / 6 * 1000)
        assert r.emissions["method"] == "defaulted"  # no place given: world average, and it says so
        assert any(e["key"] == "smartphone_charges" for e in r.equivalents_per_1000)
    assert [r.environment["host_probe"] for r in stored] == [r.environment["host_probe"] for r in records]
    assert records[0].environment is not records[1].environment


def test_generation_phases_in_one_pass_add_up_to_at_most_the_window(models):
    (job,) = expand("quick", ["text-generation"], [models["gpt2"]], GEN)
    (r,) = run_job(job, meter_factory=cpu_meter)
    assert r.status == "finished"
    assert r.generated_tokens == 3 * 4  # exactly max_new_tokens per prompt
    assert set(r.phases) == {"prefill", "decode"} and all(v > 0 for v in r.phases.values())
    # CPU energy is CPU time x watts; each window edge reads CPU time in clock ticks (10 ms), so the phases
    # (two windows per prompt) may exceed the repeat window by up to a tick per edge, and by no more
    from wattprint.meter.cpu_model import cpu_model

    tick_j = cpu_model().max_w_per_cpu / os.sysconf("SC_CLK_TCK")
    assert sum(r.phases.values()) <= r.energy_j + 2 * 2 * 3 * tick_j
    assert sum(r.phases.values()) >= 0.5 * r.energy_j  # the model's work is inside the phases
    assert sum(r.phase_durations.values()) <= r.duration_s
    assert r.wh_per_token == pytest.approx(r.energy_j / J_PER_WH / 12)


def test_resume_skips_finished_repeats(models, tmp_path):
    path = tmp_path / "w.db"
    (job,) = expand("quick", ["text-classification"], [models["bert"]], {**CLS, "samples": 2, "idle_seconds": 0})
    with Store(path) as store:
        assert len(run_job(job, store=store, meter_factory=cpu_meter)) == 2
    with Store(path) as store:
        assert run_job(job, store=store, meter_factory=cpu_meter, skip_keys=store.done_keys()) == []
        (more,) = expand("quick", ["text-classification"], [models["bert"]],
                         {**CLS, "samples": 2, "idle_seconds": 0, "repeats": 3})
        new = run_job(more, store=store, meter_factory=cpu_meter, skip_keys=store.done_keys())
        assert [r.repeat for r in new] == [2]
        assert store.counts() == {"finished": 3}


def test_a_model_that_cannot_load_is_recorded_failed_and_the_next_one_runs(models, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text('{"model_type": "bert", "hidden_size": 30, "num_attention_heads": 4}')
    jobs = expand("quick", ["text-classification"], [str(broken), models["bert"]], {**CLS, "idle_seconds": 0,
                                                                                      "repeats": 1})
    with Store(tmp_path / "w.db") as store:
        out = [r for job in jobs for r in run_job(job, store=store, meter_factory=cpu_meter)]
        assert [r.status for r in out] == ["failed", "finished"]
        assert out[0].error.startswith("cannot run the model: ValueError")
        assert store.counts() == {"failed": 1, "finished": 1}


def test_gpu_energy_from_a_simulated_nvml(models):
    """A "GPU" drawing a constant 250 W: its energy is 250 W x the window, and the GPU figures appear."""
    from wattprint.core.clock import SystemClock
    from wattprint.meter.backends.nvml import NvmlBackend
    from wattprint.meter.meter import Meter
    from wattprint.meter.sim.nvml import SimGpu, SimNvml
    from wattprint.meter.sim.traces import Constant

    clock = SystemClock()
    sim = SimNvml([SimGpu(trace=Constant(250.0))], clock)

    def gpu_meter(**kw):
        return Meter(backends=[NvmlBackend(sim, gpus=[0], clock=clock)], clock=clock)

    (job,) = expand("quick", ["text-classification"], [models["bert"]], {**CLS, "idle_seconds": 0, "repeats": 1})
    (r,) = run_job(job, meter_factory=gpu_meter)
    assert r.status == "finished"
    # the counter steps every 100 ms: allow one step at each edge
    assert r.gpu_energy_j == pytest.approx(250.0 * r.duration_s, abs=2 * 250.0 * 0.1)
    assert r.gpu_wh_per_1000 == pytest.approx(r.gpu_energy_j / J_PER_WH / 6 * 1000)
    assert r.gpu_uuids == [sim.gpus[0].uuid]
    assert r.load_energy_j == pytest.approx(250.0 * r.load_duration_s, abs=2 * 250.0 * 0.1)


def test_out_of_memory_in_a_repeat_is_recorded_failed_and_the_job_stops(models, tmp_path, monkeypatch):
    """CI has no GPU to exhaust: the task's run_batch raises torch's real OOM error on its third call
    (warm-up, repeat 0, then repeat 1)."""
    import torch

    from wattprint.tasks.text_classification import TextClassification

    real = TextClassification.run_batch
    calls = []

    def run_batch(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(TextClassification, "run_batch", run_batch)
    (job,) = expand("quick", ["text-classification"], [models["bert"]],
                    {**CLS, "samples": 2, "repeats": 3, "idle_seconds": 0})
    with Store(tmp_path / "w.db") as store:
        out = run_job(job, store=store, meter_factory=cpu_meter)
        assert [(r.repeat, r.status) for r in out] == [(0, "finished"), (1, "failed")]
        assert out[1].error == ("failed during repeat 1: OutOfMemoryError: CUDA out of memory. "
                                "Tried to allocate 20.00 GiB")
        assert store.counts() == {"finished": 1, "failed": 1}  # repeat 2 never started: no running row left


def test_an_unexpected_error_stops_the_run_and_the_store_says_why(models, tmp_path, monkeypatch):
    from wattprint.tasks.text_classification import TextClassification

    real = TextClassification.run_batch
    calls = []

    def run_batch(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # the first measured batch
            raise RuntimeError("a bug in a task")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(TextClassification, "run_batch", run_batch)
    (job,) = expand("quick", ["text-classification"], [models["bert"]], {**CLS, "samples": 2, "idle_seconds": 0})
    with Store(tmp_path / "w.db") as store:
        with pytest.raises(RuntimeError, match="a bug in a task"):
            run_job(job, store=store, meter_factory=cpu_meter)
        (r,) = store.runs(status=None)
        assert (r.status, r.error) == ("aborted", "aborted: RuntimeError: a bug in a task")


def test_ctrl_c_inside_a_repeat_marks_it_aborted_and_keeps_the_finished_ones(models, tmp_path, monkeypatch):
    from wattprint.tasks.text_classification import TextClassification

    real = TextClassification.run_batch
    calls = []

    def run_batch(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 4:  # warm-up, repeat 0, repeat 1, then inside repeat 2
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(TextClassification, "run_batch", run_batch)
    (job,) = expand("quick", ["text-classification"], [models["bert"]],
                    {**CLS, "samples": 2, "repeats": 5, "idle_seconds": 0})
    with Store(tmp_path / "w.db") as store:
        with pytest.raises(KeyboardInterrupt):
            run_job(job, store=store, meter_factory=cpu_meter)
        assert store.counts() == {"finished": 2, "aborted": 1}
        (aborted,) = store.runs(status="aborted")
        assert (aborted.repeat, aborted.error) == (2, "aborted: interrupted (KeyboardInterrupt)")


def test_cpu_allocator_out_of_memory_is_a_failed_record_not_a_crash(models, monkeypatch):
    """torch's CPU allocator raises a plain RuntimeError; the runner recognises its message."""
    import torch

    from wattprint.tasks.text_classification import TextClassification

    def load(self, entry, settings):
        torch.empty(2**62, dtype=torch.uint8)  # the real allocator failing, not a stand-in

    monkeypatch.setattr(TextClassification, "load", load)
    (job,) = expand("quick", ["text-classification"], [models["bert"]], {**CLS, "repeats": 1, "idle_seconds": 0})
    (r,) = run_job(job, meter_factory=cpu_meter)
    assert r.status == "failed" and r.error.startswith("cannot run the model: RuntimeError: [enforce fail")
    assert "DefaultCPUAllocator: can't allocate memory" in r.error


def test_per_batch_windows_give_energy_per_batch(models):
    (job,) = expand("quick", ["text-classification"], [models["bert"]],
                    {**CLS, "repeats": 1, "idle_seconds": 0, "batch_windows": True})
    (r,) = run_job(job, meter_factory=cpu_meter)
    assert r.settings["batch_windows"] is True
    # 3 batches of 2 inside one repeat window: a batch's energy is positive and at most the window's
    assert 0 < r.batch_energy_p50_j <= r.batch_energy_p95_j <= r.energy_j
    assert 0 <= r.harness_overhead < 0.5
    (plain,) = run_job(expand("quick", ["text-classification"], [models["bert"]],
                              {**CLS, "repeats": 1, "idle_seconds": 0})[0], meter_factory=cpu_meter)
    assert plain.batch_energy_p50_j is None
