"""Every registered task runs a real tiny model (a catalog config shrunk, random weights, CPU) through
load -> make_inputs -> run_batch, and counts its work units; generative tasks mark their phases."""

import pytest

from wattprint.tasks.registry import get_task, task_names

PHASES = {
    "text-generation": ["prefill", "decode"],
    "summarization": ["prefill", "decode"],
    "image-captioning": ["prefill", "decode"],
    "automatic-speech-recognition": ["prefill", "decode"],
    "image-generation": ["encode", "denoise", "decode"],
}


def test_every_task_has_a_tiny_case(tiny):
    assert sorted(tiny) == sorted(task_names())
    assert len(task_names()) == 12


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(task_names()))
def test_task_runs_a_tiny_model(name, tiny, run_tiny):
    task, loaded, inputs, phases, result = run_tiny(name)
    assert loaded.weights == "random"
    assert loaded.source == f"config:{tiny[name][0]}"
    assert loaded.parameters > 1000
    assert len(inputs.items) == 3 and inputs.workload == "synthetic"
    assert inputs.references is None  # synthetic inputs have no labels: nothing is scored
    assert task.datasets[0].name in inputs.description and "synthetic" in inputs.description
    assert result.units["inferences"] == 2 and len(result.outputs) == 2
    expected = PHASES.get(name, [])
    assert [n for kind, n in phases.events if kind == "begin"] == expected
    assert [n for kind, n in phases.events if kind == "end"] == expected
    if result.flops is not None:
        assert result.flops > 0 and result.flops_method.startswith("analytic")
    if "input_tokens" in result.units:
        assert result.units["input_tokens"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("name,per_item", [("text-generation", 7), ("summarization", 6),
                                           ("image-captioning", 5), ("automatic-speech-recognition", 4)])
def test_generation_gives_exactly_the_asked_new_tokens(name, per_item, run_tiny):
    _, _, _, _, result = run_tiny(name)
    assert result.units["generated_tokens"] == 2 * per_item


@pytest.mark.slow
def test_image_generation_counts_images_and_steps_and_honours_size(run_tiny):
    _, loaded, _, _, result = run_tiny("image-generation")
    assert result.units["images"] == 2 and result.units["denoising_steps"] == 4
    assert all(img.size == (32, 32) for img in result.outputs)
    assert loaded.extra["defaults"] == {"num_inference_steps": 2, "height": 32, "width": 32}


@pytest.mark.slow
def test_counted_flops_grow_with_input_size(run_tiny):
    task, loaded, inputs, _, _ = run_tiny("text-classification")
    short, how = task.count_flops(loaded, ["good film"], {})
    long, _ = task.count_flops(loaded, ["good film " * 40], {})
    assert how == "counted" and 0 < short < long


@pytest.mark.slow
def test_same_seed_same_inputs_and_outputs(run_tiny):
    a = run_tiny("text-generation")
    b = run_tiny("text-generation")
    assert a[2].items == b[2].items
    assert a[4].outputs == b[4].outputs


def test_unknown_task_suggests_close_matches():
    from wattprint.core.errors import UnknownNameError

    with pytest.raises(UnknownNameError) as e:
        get_task("text-clasification")
    assert "text-classification" in str(e.value)
    assert get_task("image-to-text").name == "image-captioning"  # hub tag alias


def test_every_task_has_three_datasets_with_sources_and_stats():
    for name in task_names():
        task = get_task(name)
        assert task.version and task.title and len(task.datasets) >= 3, name
        for d in task.datasets:
            assert d.hub_id and d.source and d.stats, (name, d.name)


def test_listing_tasks_and_models_imports_no_ml_library():
    import subprocess
    import sys

    code = ("import sys\nfrom wattprint.tasks.registry import get_task, task_names\n"
            "from wattprint.models.catalog import entries\n[get_task(n) for n in task_names()]\nentries()\n"
            "print(sorted(m for m in ('torch', 'transformers', 'diffusers', 'numpy', 'datasets') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


FLAN = {"config": {"d_model": 32, "d_ff": 64, "num_layers": 1, "num_decoder_layers": 1, "num_heads": 2, "d_kv": 16}}
BLOOMZ = {"config": {"hidden_size": 32, "n_layer": 1, "n_head": 2}}


@pytest.mark.slow
@pytest.mark.parametrize("name,model,overrides", [
    ("text-classification", "flan-t5-small", FLAN), ("question-answering", "flan-t5-small", FLAN),
    ("summarization", "bloomz-560m", BLOOMZ), ("text-classification", "bloomz-560m", BLOOMZ)])
def test_general_purpose_models_answer_zero_shot_with_phases(name, model, overrides, recording_phases):
    from wattprint.models.catalog import get_entry
    from wattprint.tasks.base import LoadSettings

    task = get_task(name)
    entry = get_entry(model)
    assert entry.kind == "general-purpose"
    loaded = task.load(entry, LoadSettings(weights="random", overrides=overrides))
    inputs = task.make_inputs(loaded, task.datasets[0], "synthetic", 2, seed=0)
    phases = recording_phases()
    result = task.run_batch(loaded, inputs.items, phases, {"max_new_tokens": 3, "min_new_tokens": 3})
    assert phases.events == [("begin", "prefill"), ("end", "prefill"), ("begin", "decode"), ("end", "decode")]
    assert result.units["generated_tokens"] == 6 and all(isinstance(o, str) for o in result.outputs)




@pytest.mark.parametrize("name,head", [("text-classification", "AutoModelForSequenceClassification"),
                                       ("question-answering", "AutoModelForQuestionAnswering")])
def test_zero_shot_tasks_load_general_purpose_entries_as_language_models(name, head):
    from wattprint.models.catalog import entries
    from wattprint.tasks._text import lm_class

    task = get_task(name)
    general = [e for e in entries() if e.kind == "general-purpose" and e.config is not None]
    assert general
    for e in general:
        assert task.model_class(e) == lm_class(e) in ("AutoModelForSeq2SeqLM", "AutoModelForCausalLM")
    assert all(task.model_class(e) == head for e in entries() if e.kind != "general-purpose")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["text-classification", "question-answering", "fill-mask", "summarization"])
def test_text_tasks_state_analytic_flops_of_their_tokens(name, run_tiny):
    _, loaded, _, _, result = run_tiny(name)
    tokens = result.units["input_tokens"] + result.units.get("generated_tokens", 0)
    assert result.flops == 2.0 * loaded.parameters * tokens
    assert result.flops_method == "analytic: 2 x parameters x tokens"
    assert result.units["inferences"] == len(result.outputs) == 2


@pytest.mark.slow
def test_whisper_runs_without_the_length_notice_and_other_warnings_pass(run_tiny, capfd):
    import logging

    # Whisper's generate sets max/min_length beside the new-token counts: transformers' notice came twice per input
    run_tiny("automatic-speech-recognition")
    assert "seem to have been set" not in capfd.readouterr().err
    log = logging.getLogger("transformers.generation.utils")
    assert len([f for f in log.filters if type(f).__name__ == "_LengthNotice"]) == 1  # added once, not per call
    record = logging.LogRecord(log.name, logging.WARNING, __file__, 1, "another warning", None, None)
    assert log.filter(record)  # only that notice is dropped
