"""Synthetic inputs match their dataset's statistics, are made of real words, and are reproducible."""

import random
import statistics
import sys

import pytest

from wattprint.core.errors import ConfigError
from wattprint.workloads import synthetic
from wattprint.workloads.hub import resolve_workload, rows
from wattprint.workloads.specs import SPECS, spec


@pytest.fixture(scope="module")
def tok():
    from wattprint.models.tokenizer import base_wordpiece

    return base_wordpiece()


def test_text_has_exactly_the_target_token_count(tok):
    words = synthetic.word_list(tok)
    rng = random.Random(0)
    for n in (1, 5, 37, 200):
        text = synthetic.text_of_tokens(tok, words, n, rng)
        assert synthetic.count_tokens(tok, text) == n
        assert all(w.isalpha() for w in text.split())


def test_lengths_follow_the_dataset_statistics(tok):
    s = spec("sst2")  # tokens ~ N(25, 12) clipped to [2, 70]
    texts, lengths = synthetic.texts(tok, synthetic.length_dist(s.stats), 300, seed=1)
    mean = sum(lengths) / len(lengths)
    assert abs(mean - s.stats["tokens_mean"]) < 2.5
    assert min(lengths) >= s.stats["tokens_min"] and max(lengths) <= s.stats["tokens_max"]
    assert [synthetic.count_tokens(tok, t) for t in texts[:20]] == lengths[:20]


def test_a_stand_in_tokenizer_gives_the_same_texts_and_counts_as_its_base(tok):
    from wattprint.models.tokenizer import StandInTokenizer

    stand_in = StandInTokenizer(tok, 1000, {})  # folds every id below 1,000: the lengths stay the base's
    d = synthetic.length_dist(spec("imdb").stats)
    assert synthetic.texts(stand_in, d, 20, seed=3) == synthetic.texts(tok, d, 20, seed=3)
    text = synthetic.texts(stand_in, d, 1, seed=4)[0][0]
    assert synthetic.count_tokens(stand_in, text) == len(stand_in(text, add_special_tokens=False)["input_ids"])


def test_every_first_n_lengths_match_the_distribution():
    d = synthetic.length_dist(spec("aienergyscore_text_classification").stats)  # N(157, 80) in [3, 512]
    rng = random.Random(0)
    spread = d.spread(1000, rng)
    for n in (10, 14, 20, 30, 100, 1000):  # a job keeps the first n of the inputs it built
        assert abs(sum(spread[:n]) / n - 157) < 0.03 * 157, n
    assert 75 < statistics.pstdev(spread) < 85 and min(spread) >= 3 and max(spread) <= 512
    assert d.spread(14, random.Random(0)) == spread[:14]  # the same seed, the same lengths, any n
    assert d.spread(14, random.Random(1)) != spread[:14]
    assert synthetic.LengthDist(5, 0, 1, 9).spread(3, random.Random(2)) == [5, 5, 5]  # no spread: the mean
    assert [synthetic._van_der_corput(i) for i in range(1, 5)] == [0.5, 0.25, 0.75, 0.125]


def test_same_seed_same_texts_other_seed_other_texts(tok):
    d = synthetic.length_dist(spec("imdb").stats)
    assert synthetic.texts(tok, d, 5, seed=7) == synthetic.texts(tok, d, 5, seed=7)
    assert synthetic.texts(tok, d, 5, seed=7)[0] != synthetic.texts(tok, d, 5, seed=8)[0]


def test_images_have_dataset_sizes():
    imgs, desc = synthetic.images(spec("cifar10").stats, 4, seed=0)
    assert all(i.size == (32, 32) and i.mode == "RGB" for i in imgs)
    imgs, desc = synthetic.images(spec("imagenet-1k").stats, 200, seed=0)
    mean_w = sum(i.width for i in imgs) / len(imgs)
    assert abs(mean_w - 500) < 20 and "N(500, 90)" in desc


def test_audio_durations_match_librispeech():
    waves, desc = synthetic.audio(spec("librispeech").stats, 200, seed=0)
    secs = [len(w) / 16000 for w in waves]
    assert abs(sum(secs) / len(secs) - 7.42) < 0.8
    assert min(secs) >= 1.3 and max(secs) <= 35 and "7.42" in desc


def test_every_spec_cites_a_source_and_has_length_or_size_stats():
    for s in SPECS.values():
        assert s.source and s.hub_id and s.split
        keys = set(s.stats)
        assert keys & {"tokens_mean", "words_mean", "context_tokens_mean", "width_mean", "seconds_mean"}, s.name


def test_auto_workload_offline_is_synthetic(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    workload, reason = resolve_workload("auto")
    assert workload == "synthetic" and reason.startswith("auto:")
    assert resolve_workload("synthetic")[0] == "synthetic"
    with pytest.raises(ConfigError):
        resolve_workload("sometimes")


def test_dataset_workload_without_datasets_package_says_how_to_fix(monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)  # as if not installed (CI installs it for the Arrow path)
    with pytest.raises(ConfigError) as e:
        rows(spec("imdb"), 3)
    assert "datasets" in e.value.message and "--workload synthetic" in e.value.fix
