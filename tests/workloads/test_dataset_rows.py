"""The dataset workload's row handling, with rows shaped like each hub dataset's (the hub itself cannot be
reached from CI): columns are mapped, references built, and real weights (all-MiniLM-L6-v2) are scored."""

import numpy as np
import pytest

from wattprint.models.catalog import get_entry
from wattprint.tasks.base import LoadSettings, NullPhases
from wattprint.tasks.registry import get_task
from wattprint.workloads import hub


@pytest.fixture
def hub_rows(monkeypatch):
    """Serve given rows in place of datasets.load_dataset, recording what was asked."""
    asked = []

    def serve(rows):
        def fake_rows(spec, n, seed=0, trust_remote_code=False):
            asked.append((spec.hub_id, spec.config, spec.split, n, seed))
            return rows[:n]
        monkeypatch.setattr(hub, "rows", fake_rows)
        return asked

    return serve


@pytest.fixture(scope="module")
def minilm():
    task = get_task("sentence-similarity")
    return task, task.load(get_entry("all-minilm-l6-v2"), LoadSettings(weights="pretrained"))


def test_stsb_rows_are_scored_with_real_weights(hub_rows, minilm):
    task, loaded = minilm
    asked = hub_rows([
        {"sentence1": "A man is playing a guitar.", "sentence2": "A man plays a guitar.", "score": 0.96},
        {"sentence1": "A woman is slicing an onion.", "sentence2": "A woman is cutting an onion.", "score": 0.85},
        {"sentence1": "A dog runs in the park.", "sentence2": "A cat sleeps on a sofa.", "score": 0.1},
        {"sentence1": "Stocks fell on Monday.", "sentence2": "A child is eating cake.", "score": 0.0},
    ])
    inputs = task.make_inputs(loaded, task.dataset("stsb"), "dataset", 4, seed=5)
    assert asked == [("sentence-transformers/stsb", None, "test", 4, 5)]
    assert inputs.workload == "dataset" and inputs.references == [0.96, 0.85, 0.1, 0.0]
    out = task.run_batch(loaded, inputs.items, NullPhases(), {})
    assert task.score(out.outputs, inputs.references)["spearman"] > 0.7


def test_classification_rows_give_label_names(hub_rows, minilm):
    _, loaded = minilm
    hub_rows([{"text": "great", "label": 1}, {"text": "awful", "label": 0}])
    task = get_task("text-classification")
    inputs = task.make_inputs(loaded, task.dataset("imdb"), "dataset", 2)
    assert inputs.items == ["great", "awful"] and inputs.references == ["positive", "negative"]
    assert task.score(["POSITIVE", "POSITIVE"], inputs.references) == {"accuracy": 0.5}


def test_qa_rows_keep_all_reference_answers(hub_rows, minilm):
    _, loaded = minilm
    hub_rows([{"question": "Where?", "context": "In Paris.", "answers": {"text": ["Paris", "in Paris"],
                                                                           "answer_start": [3, 0]}}])
    task = get_task("question-answering")
    inputs = task.make_inputs(loaded, task.dataset("squad"), "dataset", 1)
    assert inputs.items == [{"question": "Where?", "context": "In Paris."}]
    assert inputs.references == [["Paris", "in Paris"]]
    assert task.score(["paris"], inputs.references)["exact_match"] == 1.0


def test_ner_rows_map_tag_ids_to_names(hub_rows, minilm):
    _, loaded = minilm
    hub_rows([{"tokens": ["EU", "rejects", "German"], "ner_tags": [3, 0, 7]}])
    task = get_task("token-classification")
    inputs = task.make_inputs(loaded, task.dataset("conll2003"), "dataset", 1)
    assert inputs.references == [["B-ORG", "O", "B-MISC"]]


def test_fill_mask_rows_mask_one_word_and_keep_it_as_reference(hub_rows, minilm):
    _, loaded = minilm
    hub_rows([{"text": "the quick brown fox jumps"}])
    task = get_task("fill-mask")
    inputs = task.make_inputs(loaded, task.dataset("wikitext"), "dataset", 1, seed=2)
    masked, ref = inputs.items[0], inputs.references[0]
    assert masked.count("<wattprint-mask>") == 1
    assert masked.replace("<wattprint-mask>", ref) == "the quick brown fox jumps"


def test_asr_rows_are_resampled_to_16k(hub_rows, minilm):
    _, loaded = minilm
    wave = np.sin(np.linspace(0, 100, 8000)).astype(np.float32)  # 1 s at 8 kHz
    hub_rows([{"audio": {"array": wave, "sampling_rate": 8000}, "text": "HELLO WORLD"}])
    task = get_task("automatic-speech-recognition")
    inputs = task.make_inputs(loaded, task.dataset("librispeech"), "dataset", 1)
    assert inputs.items[0].shape == (16000,) and inputs.references == ["HELLO WORLD"]
    assert task.score(["hello word"], inputs.references)["wer"] == pytest.approx(0.5)


@pytest.mark.parametrize("task_name, row, item", [
    ("text-classification", {"text": "great"}, "great"),
    ("summarization", {"text": "A long article."}, "A long article."),
    ("question-answering", {"question": "Where?", "context": "In Paris."}, {"question": "Where?",
                                                                            "context": "In Paris."}),
    ("sentence-similarity", {"sentence1": "a", "sentence2": "b"}, ("a", "b")),
    ("text-generation", {"text": "Once"}, "Once"),
])
def test_ai_energy_score_rows_have_no_references(hub_rows, minilm, task_name, row, item):
    """AI Energy Score's datasets mix three sources with no common label space: inputs only, nothing scored."""
    from wattprint.workloads.specs import AIENERGYSCORE_DATASETS

    _, loaded = minilm
    asked = hub_rows([row])
    task = get_task(task_name)
    spec = task.dataset(AIENERGYSCORE_DATASETS[task_name])
    inputs = task.make_inputs(loaded, spec, "dataset", 1)
    assert asked == [(spec.hub_id, None, "train", 1, 0)] and spec.hub_id.startswith("AIEnergyScore/")
    assert inputs.items == [item] and inputs.references is None
