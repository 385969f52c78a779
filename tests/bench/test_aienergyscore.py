"""The aienergyscore preset measures the protocol's phases and sums them as the protocol does: the inputs are
preprocessed in their own measured window, the model then runs on the prepared tensors, and the GPU score is
preprocess + inference window. Tiny real models on the CPU; the GPU is NVML's simulator at a constant 100 W
(wattprint's own stand-in), so the GPU figures are real counter readings of a known power."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from tiny import TINY_BERT, TINY_GPT2, tiny_model  # noqa: E402

from wattprint.bench.plan import expand  # noqa: E402
from wattprint.bench.runner import run_job  # noqa: E402
from wattprint.bench.workflow import ARROW_NOTE  # noqa: E402
from wattprint.core.units import J_PER_WH  # noqa: E402

pytestmark = pytest.mark.slow

SMALL = {"weights": "random", "samples": 4, "repeats": 2, "warmup_batches": 1, "idle_seconds": 0,
         "device": "cpu"}
GPU_W = 100.0


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    return {"bert": tiny_model(root, "bert", TINY_BERT), "gpt2": tiny_model(root, "gpt2", TINY_GPT2)}


def sim_gpu_meter(**kw):
    """The job's meter with one simulated GPU drawing a constant 100 W (counter path), CPU and RAM estimates."""
    from wattprint.core.clock import SystemClock
    from wattprint.meter.backends.nvml import NvmlBackend
    from wattprint.meter.meter import Meter
    from wattprint.meter.sim.nvml import SimGpu, SimNvml
    from wattprint.meter.sim.traces import Constant

    clock = SystemClock()
    gpu = NvmlBackend(SimNvml([SimGpu(Constant(GPU_W))], clock), gpus=[0], clock=clock, env={})
    plain = Meter(gpus=None, cpu=True, ram=True, sampler_thread=False)  # only its CPU and RAM backends
    return Meter(backends=[gpu, *plain.backends], clock=clock)


def run(task, model, **extra):
    (job,) = expand("aienergyscore", [task], [model], {**SMALL, **extra})
    return run_job(job, meter_factory=sim_gpu_meter)


def test_classification_phases_and_score(models):
    records = run("text-classification", models["bert"])
    assert [r.status for r in records] == ["finished", "finished"]
    for r in records:
        assert r.settings["preprocess"] == "arrow" and r.settings["score"] == "gpu"
        assert ARROW_NOTE in r.warnings  # the repeats read every batch back from the Arrow file
        # the preprocess window: measured once for the job, its GPU part at the simulated 100 W
        assert r.preprocess_duration_s > 0 and r.preprocess_energy_j > 0
        assert r.preprocess_gpu_energy_j == pytest.approx(GPU_W * r.preprocess_duration_s, rel=0.25, abs=2.0)
        assert r.preprocess_energy_j == pytest.approx(
            r.preprocess_gpu_energy_j + r.preprocess_cpu_energy_j + r.preprocess_ram_energy_j)
        assert r.gpu_energy_j == pytest.approx(GPU_W * r.duration_s, rel=0.25, abs=2.0)
        # the score is exactly preprocess + inference window, GPU only, per 1,000 inferences
        assert r.score_wh_per_1000 == pytest.approx(
            (r.preprocess_gpu_energy_j + r.gpu_energy_j) / J_PER_WH / r.inferences * 1000)
        assert r.score_wh_per_1000 > r.gpu_wh_per_1000  # the preprocessing is in it
        assert r.score_basis.startswith("GPU energy of preprocess + inference window")
    assert records[0].preprocess_energy_j == records[1].preprocess_energy_j  # one window for the job


def test_generation_prefill_decode_within_window(models):
    records = run("text-generation", models["gpt2"], dtype="float32")
    for r in records:
        assert set(r.phases) == {"prefill", "decode"} and r.generated_tokens == 4 * 10
        by = r.phase_energy_by_kind
        assert set(by) == {"prefill", "decode"}
        for phase in by:  # each phase's kinds add up to its total, and its GPU part is at 100 W
            assert sum(by[phase].values()) == pytest.approx(r.phases[phase])
        assert by["prefill"]["gpu"] + by["decode"]["gpu"] <= r.gpu_energy_j + 1e-9
        assert r.score_basis == ("GPU energy of preprocess + inference window (prefill + decode), "
                                 "per 1,000 inferences")


def test_a_task_that_cannot_separate_keeps_it_inline_and_says_so(models, monkeypatch):
    from wattprint.tasks.text_classification import TextClassification

    monkeypatch.setattr(TextClassification, "separable_preprocess", False)
    (r, _) = run("text-classification", models["bert"])
    assert r.preprocess_energy_j is None and r.preprocess_gpu_energy_j is None
    assert any(w.startswith("preprocess: text-classification cannot separate") for w in r.warnings)
    assert r.score_wh_per_1000 == pytest.approx(r.gpu_wh_per_1000)
    assert r.score_basis.startswith("GPU energy of inference window")


def test_without_datasets_the_inputs_stay_in_memory_and_the_records_say_so(models, monkeypatch):
    import wattprint.bench.arrow_inputs as arrow_inputs

    monkeypatch.setattr(arrow_inputs, "available", lambda: False)
    (r, _) = run("text-classification", models["bert"])
    assert r.status == "finished" and r.preprocess_gpu_energy_j > 0 and ARROW_NOTE not in r.warnings
    assert any("datasets library is not installed" in w for w in r.warnings)


def test_inline_runs_and_cpu_only_scores(models):
    """paper keeps preprocessing inline: no preprocess window, the score is the total of the window; a GPU score
    with no GPU measured is left empty, with the reason."""
    from wattprint.meter.meter import Meter

    (job,) = expand("paper", ["text-classification"], [models["bert"]], {**SMALL, "repeats": 1, "dataset": ["imdb"]})
    (r,) = run_job(job, meter_factory=lambda **kw: Meter(**{**kw, "gpus": None}))
    assert r.settings["preprocess"] == "inline" and r.preprocess_energy_j is None
    assert r.score_wh_per_1000 == pytest.approx(r.wh_per_1000)
    (job,) = expand("aienergyscore", ["text-classification"], [models["bert"]], {**SMALL, "repeats": 1})
    (r,) = run_job(job, meter_factory=lambda **kw: Meter(**{**kw, "gpus": None}))
    assert r.score_wh_per_1000 is None and r.score_basis == "GPU energy: no GPU measured"
    assert r.preprocess_energy_j > 0  # still measured and recorded
