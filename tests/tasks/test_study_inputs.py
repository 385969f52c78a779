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


def _lm(seq2seq, dataset):
    return SimpleNamespace(model=SimpleNamespace(config=SimpleNamespace(is_encoder_decoder=seq2seq)),
                           extra={"dataset": dataset})


# the paper preset's QA params (code/zeroshot/zeroshot_qa_squad.py:61, _squad2.py:61, _sciq.py:56)
QA = {"max_new_tokens": 10, "decoder_max_new_tokens": {"squad": 65, "squad_v2": 65, "sciq": 1},
      "decoder_exact_new_tokens": {"squad": True}, "encoder_decoder_max_new_tokens": 19, "exact_new_tokens": False}


@pytest.mark.parametrize("seq2seq,dataset,expected", [
    (False, "squad", (65, True)),  # BLOOMZ on SQuAD: eos_token_id=-1, always 65 new tokens
    (False, "squad_v2", (65, False)),
    (False, "sciq", (1, False)),
    (True, "squad", (19, False)),  # Flan-T5: the pipeline default, free to stop at EOS
    (True, "sciq", (19, False))])
def test_zero_shot_lengths_by_model_kind_and_dataset(seq2seq, dataset, expected):
    from wattprint.tasks._generate import zero_shot_length

    assert zero_shot_length(_lm(seq2seq, dataset), QA) == expected


def test_zero_shot_lengths_default_to_the_task_own():
    from wattprint.tasks._generate import ZERO_SHOT_PARAMS, zero_shot_length

    p = {"max_new_tokens": 3, **ZERO_SHOT_PARAMS}
    assert zero_shot_length(_lm(False, "imdb"), p) == (3, True)
    assert zero_shot_length(_lm(True, "imdb"), p) == (3, True)
    # a table that leaves the dataset out falls back to max_new_tokens
    assert zero_shot_length(_lm(False, "other"), {**p, "decoder_max_new_tokens": {"squad": 65}}) == (3, True)


def test_summary_lengths_for_general_purpose_and_task_specific_models():
    from wattprint.tasks.summarization import _lengths

    p = {"min_new_tokens": 9, "max_new_tokens": 14, "decoder_max_new_tokens": {"cnn_dailymail": 15, "xsum": 65},
         "encoder_decoder_max_new_tokens": 19, "exact_new_tokens": False, "decoder_exact_new_tokens": None}
    bloomz, flan, bart = _lm(False, "xsum"), _lm(True, "xsum"), _lm(True, "xsum")
    bloomz.extra["general_purpose"] = flan.extra["general_purpose"] = True
    assert _lengths(bloomz, p) == (None, 65, False)  # code/zeroshot/zeroshot_summarize_xlsum.py:61
    assert _lengths(flan, p) == (None, 19, False)
    assert _lengths(bart, p) == (9, 14, False)  # code/summarize/summarize_xsum.py:47: min_length=10, max_length=15


@pytest.mark.slow
def test_flan_t5_summary_has_no_minimum_and_stops_at_eos():
    task = get_task("summarization")
    loaded = _load(task, "flan-t5-small", FLAN)
    loaded.extra["dataset"] = "xsum"
    p = {"prompt": "study", "encoder_decoder_max_new_tokens": 4, "exact_new_tokens": False}
    result = task.run_batch(loaded, ["An article about a film."], Phases(), p)
    assert 1 <= result.units["generated_tokens"] <= 4


@pytest.mark.parametrize("dataset,expected_end", [("c4", "end"), ("oscar", "end"), ("bookcorpus", "append")])
def test_fill_mask_inputs_per_dataset_as_the_study_built_them(dataset, expected_end):
    from wattprint.tasks.fill_mask import MASK

    task = get_task("fill-mask")
    conf = {"config": {"dim": 32, "n_layers": 1, "n_heads": 2, "hidden_dim": 64}}
    loaded = _load(task, "distilbert-base-uncased", conf)
    loaded.extra["task_params"] = {"prompt_words": {"c4": 20, "oscar": 20},
                                   "mask_position": {"bookcorpus": "append", "c4": "end", "oscar": "end"}}
    inputs = task.make_inputs(loaded, task.dataset(dataset), "synthetic", 4, seed=1)
    for item in inputs.items:
        assert item.count(MASK) == 1 and item.endswith(MASK)
        if expected_end == "end":
            assert len(item.split()) <= 20 and item.split()[-1] == MASK
        else:
            assert "." not in item and not item.endswith(" " + MASK)
    assert ("cut to the first 20 words" in inputs.description) == (dataset != "bookcorpus")


@pytest.mark.parametrize("name", ["image-classification", "object-detection", "image-captioning"])
def test_images_resized_to_640x480_as_the_study_did(name, tiny):
    """code/image_class/*.py, code/obj_detect/*.py, code/itt/*.py: row['image'].resize((640, 480), resample=0)."""
    task = get_task(name)
    loaded = _load(task, *tiny[name][:2])
    loaded.extra["task_params"] = {"resize": [640, 480]}
    inputs = task.make_inputs(loaded, task.datasets[0], "synthetic", 3, seed=0)
    assert [im.size for im in inputs.items] == [(640, 480)] * 3
    assert "resized to 640x480" in inputs.description
    loaded.extra["task_params"] = {}
    own = task.make_inputs(loaded, task.datasets[0], "synthetic", 3, seed=0)
    assert any(im.size != (640, 480) for im in own.items)  # without the param: the dataset's own sizes


def test_a_table_by_dataset_names_only_the_task_datasets():
    from wattprint.core.errors import UnknownNameError

    task = get_task("question-answering")
    ok = task.check_params({"decoder_max_new_tokens": {"squad": 65, "sciq": 1}})
    assert ok["decoder_max_new_tokens"] == {"squad": 65, "sciq": 1}
    with pytest.raises(UnknownNameError, match="did you mean 'squad'") as e:
        task.check_params({"decoder_max_new_tokens": {"sqaud": 65}})
    assert "squad, squad_v2, sciq" in e.value.fix


def test_the_paper_preset_params_pass_their_declarations():
    from wattprint.bench.presets import load_preset

    paper = load_preset("paper")
    for name in ("text-classification", "question-answering", "summarization", "fill-mask", "image-classification",
                 "object-detection", "image-captioning", "text-generation"):
        params = dict(paper.settings_for(name).params)
        assert get_task(name).check_params(params) == params
