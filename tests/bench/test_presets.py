"""Presets are readable files; settings resolve preset < task section < flags into a frozen dataclass."""

import dataclasses

import pytest

from wattprint.bench.presets import load_preset, preset_names
from wattprint.bench.settings import BenchSettings
from wattprint.core.errors import ConfigError, UnknownNameError


def test_three_presets_ship():
    assert {"quick", "paper", "aienergyscore"} <= set(preset_names())


def test_paper_protocol():
    """The study's code (sashavor/co2_inference): one pipeline call per input (preprocessing inline), fp32,
    batch 1, 1,000 inputs x 3 datasets; its generation settings, recorded in every run's settings."""
    p = load_preset("paper")
    s = p.settings_for("text-classification")
    assert (s.samples, s.datasets, s.batch_size, s.repeats) == (1000, 3, 1, 10)
    assert (s.dtype, s.preprocess, s.score) == ("float32", "inline", "total")
    assert s.components == ("gpu", "cpu", "ram")
    gen = p.settings_for("text-generation")
    # max_new_tokens=10, may stop at EOS
    assert gen.task_params() == {"max_new_tokens": 10, "exact_new_tokens": False, "prompt_words": 20, "seed": 0}
    summ = dict(p.settings_for("summarization").params)
    assert (summ["min_new_tokens"], summ["max_new_tokens"]) == (9, 14)  # min_length=10, max_length=15 with start token
    assert dict(p.settings_for("image-captioning").params) == {"max_new_tokens": 20, "resize": [640, 480]}
    img = dict(p.settings_for("image-generation").params)
    assert not {"num_inference_steps", "height", "width"} & set(img)  # the model's defaults
    assert img["safety_checker"] is True
    assert all(p.settings_for(t).dtype == "float32" for t in ("text-generation", "image-generation"))
    # the settings travel with every record: the round trip keeps the task parameters
    assert BenchSettings.from_dict(gen.to_dict()) == gen and gen.to_dict()["params"]["prompt_words"] == 20


def test_aienergyscore_protocol():
    p = load_preset("aienergyscore")
    gen = p.settings_for("text-generation")
    assert (gen.samples, gen.batch_size, gen.repeats, gen.score) == (1000, 1, 10, "gpu")
    assert gen.preprocess == "arrow" and gen.warmup_batches == 10
    assert gen.dtype == "float16" and dict(gen.params) == {"max_new_tokens": 10}  # exact_new_tokens by default
    assert p.settings_for("text-classification").dtype == "float32"
    assert dict(p.settings_for("image-generation").params) == {"num_inference_steps": 30}
    for task in ("image-captioning", "automatic-speech-recognition"):
        assert dict(p.settings_for(task).params) == {"min_new_tokens": 100, "max_new_tokens": 100}
    assert p.settings_for("summarization").task_params()["forward_only"] is True


def test_aienergyscore_runs_the_text_tasks_on_the_protocols_own_datasets():
    from wattprint.tasks.registry import get_task
    from wattprint.workloads.specs import AIENERGYSCORE_DATASETS, spec

    p = load_preset("aienergyscore")
    for task, name in AIENERGYSCORE_DATASETS.items():
        assert p.settings_for(task).dataset == (name,)
        assert get_task(task).datasets[-1].name == name  # after the study's, which paper and quick keep using
        assert "Table 1" in spec(name).source
    assert spec("aienergyscore_summarization").stats["tokens_mean"] == 384  # 383,715 tokens over 1,000 texts
    assert p.settings_for("image-classification").dataset == ()  # the task's first standard dataset
    assert load_preset("paper").settings_for("summarization").dataset == ("cnn_dailymail", "xsum", "samsum")


def test_task_params_are_checked_against_the_task(tmp_path):
    from wattprint.bench.plan import expand

    f = tmp_path / "mine.toml"
    f.write_text('[tasks.text-generation]\nparams = {prompt_wrds = 20}\n')
    with pytest.raises(UnknownNameError, match="did you mean 'prompt_words'"):
        expand(str(f), ["text-generation"], ["distilgpt2"])
    f.write_text('[defaults]\nparams = 3\n')
    with pytest.raises(ConfigError, match="table"):
        load_preset(str(f))


def test_quick_is_budgeted_and_says_what_it_shrank():
    p = load_preset("quick")
    s = p.settings_for("text-classification")
    assert s.samples is None and s.time_budget_s > 0 and s.min_samples >= 3 and s.repeats == 1
    assert s.models == "smallest"
    img = p.settings_for("image-generation")
    assert dict(img.params) == {"num_inference_steps": 2, "height": 64, "width": 64}
    assert "not comparable" in img.shrunk
    assert s.shrunk is None


def test_flags_override_task_sections_and_defaults():
    p = load_preset("aienergyscore")
    s = p.settings_for("text-generation", {"dtype": "float16", "params": {"max_new_tokens": 20}, "repeats": None,
                                           "samples": 5})
    assert (s.dtype, dict(s.params), s.repeats, s.samples) == ("float16", {"max_new_tokens": 20}, 10, 5)


def test_settings_are_frozen_and_validated():
    s = BenchSettings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.repeats = 3
    with pytest.raises(UnknownNameError, match="did you mean 'bfloat16'"):
        BenchSettings(dtype="bfloat61")
    with pytest.raises(ConfigError):
        BenchSettings(repeats=0)
    with pytest.raises(ConfigError):
        BenchSettings(device="tpu")


def test_round_trip_through_dict():
    s = load_preset("quick").settings_for("image-generation")
    assert BenchSettings.from_dict(s.to_dict()) == s


def test_unknown_preset_and_setting(tmp_path):
    with pytest.raises(UnknownNameError, match="did you mean 'paper'"):
        load_preset("papr")
    bad = tmp_path / "mine.toml"
    bad.write_text('[defaults]\nrepeets = 3\n')
    with pytest.raises(UnknownNameError, match="repeats"):
        load_preset(str(bad))


def test_preset_from_a_file(tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text('[preset]\nname = "mine"\n[defaults]\nsamples = 7\nrepeats = 2\n[tasks.fill-mask]\nrepeats = 4\n')
    p = load_preset(str(f))
    assert p.name == "mine"
    assert p.settings_for("text-classification").samples == 7
    assert p.settings_for("fill-mask").repeats == 4


@pytest.mark.parametrize("name", ["time_budget_s", "idle_seconds"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_settings_refuse_numbers_that_are_not_finite(name, value):
    from wattprint.bench.settings import BenchSettings
    from wattprint.core.errors import ConfigError

    with pytest.raises(ConfigError, match=f"{name} = .* is not a finite number"):
        BenchSettings(**{name: value})


def test_a_preset_file_saying_nan_is_one_clear_error(tmp_path):
    from wattprint.bench.presets import load_preset
    from wattprint.core.errors import ConfigError

    path = tmp_path / "mine.toml"
    path.write_text('[preset]\nname = "mine"\n\n[defaults]\nidle_seconds = nan\n')
    with pytest.raises(ConfigError, match="idle_seconds = nan is not a finite number"):
        load_preset(str(path)).settings_for("text-classification", {})


def test_paper_inputs_follow_the_study_and_quick_keeps_the_task_defaults():
    """code/zeroshot/*, code/fillmask/*, code/tti/* of sashavor/co2_inference, as task params of paper only."""
    p = load_preset("paper")
    assert p.settings_for("text-classification").task_params() == {
        "prompt": "study", "decoder_max_new_tokens": 1, "encoder_decoder_max_new_tokens": 19,
        "exact_new_tokens": False, "seed": 0}
    assert p.settings_for("question-answering").task_params()["prompt"] == "study"
    assert p.settings_for("summarization").task_params()["prompt"] == "study"
    assert p.settings_for("fill-mask").task_params()["mask_position"]["c4"] == "end"
    assert p.settings_for("image-generation").task_params()["prompt_words"] == 50
    quick = load_preset("quick")
    keys = ("prompt", "decoder_max_new_tokens", "mask_position", "prompt_words")
    for task in ("text-classification", "question-answering", "summarization", "fill-mask", "image-generation"):
        assert not set(keys) & set(quick.settings_for(task).task_params())
