"""The paper preset's inputs as the study's code built them (sashavor/co2_inference, code/zeroshot,
code/fillmask, code/tti): zero-shot prompts, the mask at the end, BLOOMZ's one new token, 50-word prompts.
The tasks' own defaults (what the quick preset runs) stay as they were."""

import random
from types import SimpleNamespace

import pytest

from wattprint.tasks.registry import get_task

FLAN = {"config": {"d_model": 32, "d_ff": 64, "num_layers": 1, "num_decoder_layers": 1, "num_heads": 2, "d_kv": 16}}
BLOOMZ = {"config": {"hidden_size": 32, "n_layer": 1, "n_head": 2}}
BART = {"config": {"d_model": 32, "encoder_layers": 1, "decoder_layers": 1, "encoder_attention_heads": 2,
                   "decoder_attention_heads": 2, "encoder_ffn_dim": 64, "decoder_ffn_dim": 64}}


class Phases:
    def begin(self, name):
        pass

    def end(self, name):
        pass


def _load(task, model, overrides):
    from wattprint.models.catalog import get_entry
    from wattprint.tasks.base import LoadSettings

    return task.load(get_entry(model), LoadSettings(weights="random", overrides=overrides))


def _captured_prompts(monkeypatch):
    from wattprint.tasks import _generate

    seen = []
    real = _generate.tokenize_prompts

    def spy(loaded, prompts, max_new_tokens):
        seen.append((list(prompts), max_new_tokens))
        return real(loaded, prompts, max_new_tokens)

    monkeypatch.setattr(_generate, "tokenize_prompts", spy)
    return seen


@pytest.mark.parametrize("prompt,expected", [
    ("study", "what is the binary sentiment of the following sentence? great film"),
    ("own", "great film\nIs the sentiment of this text positive or negative?")])
def test_sentiment_prompt(monkeypatch, prompt, expected):
    task = get_task("text-classification")
    loaded = _load(task, "flan-t5-small", FLAN)
    seen = _captured_prompts(monkeypatch)
    task.prepare(loaded, ["great film"], {"prompt": prompt, "decoder_max_new_tokens": 1})
    assert seen == [([expected], 3)]  # Flan-T5 is an encoder-decoder: decoder_max_new_tokens leaves it at 3


def test_bloomz_answers_sentiment_with_one_new_token():
    task = get_task("text-classification")
    loaded = _load(task, "bloomz-560m", BLOOMZ)
    items = task.make_inputs(loaded, task.datasets[0], "synthetic", 2, seed=0).items
    params = {"prompt": "study", "decoder_max_new_tokens": 1}
    result = task.run_prepared(loaded, task.prepare(loaded, items, params), Phases(), params)
    assert result.units["generated_tokens"] == 2 and result.units["inferences"] == 2
    own = task.run_batch(loaded, items, Phases(), {})
    assert own.units["generated_tokens"] == 6  # the task's default: 3 new tokens each


def test_qa_study_prompt(monkeypatch):
    task = get_task("question-answering")
    loaded = _load(task, "flan-t5-small", FLAN)
    seen = _captured_prompts(monkeypatch)
    task.prepare(loaded, [{"question": "Who wrote it", "context": "Ann wrote it."}], {"prompt": "study"})
    assert seen[0][0] == ['Who wrote it? Find the answer to the question in the following text: "Ann wrote it.". '
                          'Answer:']


class _Tok:
    """Records what the summarization task hands its tokenizer."""

    def __init__(self, real):
        self.real, self.seen = real, []

    def __getattr__(self, name):
        return getattr(self.real, name)

    def __setattr__(self, name, value):
        if name in ("real", "seen"):
            object.__setattr__(self, name, value)
        else:
            setattr(self.real, name, value)

    def __call__(self, prompts, **kw):
        self.seen.extend(prompts)
        return self.real(prompts, **kw)


@pytest.mark.parametrize("model,overrides,prompt,expected", [
    ("bloomz-560m", BLOOMZ, "study", "summarize the following text: An article."),
    ("flan-t5-small", FLAN, "study", "summarize the following text: An article."),
    ("bloomz-560m", BLOOMZ, "own", "An article.\nSummarize the text above in one sentence:"),
    ("bart-large-cnn", BART, "study", "An article.")])  # a task-specific model keeps its own input
def test_summarization_prompt(model, overrides, prompt, expected):
    task = get_task("summarization")
    loaded = _load(task, model, overrides)
    loaded.processor = tok = _Tok(loaded.processor)
    task.prepare(loaded, ["An article."], {"prompt": prompt})
    assert tok.seen == [expected]


def test_fill_mask_at_the_end():
    from wattprint.tasks.fill_mask import MASK, _mask_one

    assert _mask_one("the cat sat", random.Random(0), "end") == (f"the cat {MASK}", "sat")
    assert _mask_one("He sat. She ran.", random.Random(0), "append") == (f"He sat She ran{MASK}", "")
    task = get_task("fill-mask")
    conf = {"config": {"dim": 32, "n_layers": 1, "n_heads": 2, "hidden_dim": 64}}
    loaded = _load(task, "distilbert-base-uncased", conf)
    loaded.extra["task_params"] = {"mask_position": "end"}
    inputs = task.make_inputs(loaded, task.datasets[0], "synthetic", 5, seed=2)
    assert all(item.split()[-1] == MASK and item.count(MASK) == 1 for item in inputs.items)
    assert "last word of each text masked" in inputs.description
    loaded.extra["task_params"] = {}
    seeded = task.make_inputs(loaded, task.datasets[0], "synthetic", 5, seed=2)
    assert any(item.split()[-1] != MASK for item in seeded.items)  # the default masks a seeded word


def test_image_prompts_truncated_to_50_words(monkeypatch):
    from wattprint.tasks import _diffusion

    seen = []
    monkeypatch.setattr(_diffusion, "generate_images", lambda loaded, prompts, phases, p: seen.extend(prompts)
                        or [object()] * len(prompts))
    task = get_task("image-generation")
    loaded = SimpleNamespace(extra={"defaults": {"num_inference_steps": 2}})
    long = " ".join(f"w{i}" for i in range(80))
    result = task.run_batch(loaded, [long, "short one"], Phases(), {"prompt_words": 50})
    assert seen == [" ".join(f"w{i}" for i in range(50)), "short one"] and result.units["images"] == 2
    seen.clear()
    task.run_batch(loaded, [long], Phases(), {})
    assert seen == [long]  # the task's default keeps the whole prompt


def test_task_defaults_keep_their_own_inputs():
    assert get_task("text-classification").default_params()["prompt"] == "own"
    assert get_task("question-answering").default_params()["prompt"] == "own"
    assert get_task("summarization").default_params()["prompt"] == "own"
    assert get_task("fill-mask").default_params() == {"mask_position": "random", "prompt_words": None}
    assert get_task("image-generation").default_params()["prompt_words"] is None
