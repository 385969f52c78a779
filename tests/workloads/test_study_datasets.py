"""The study's three datasets of each task are specs with statistics and sources, every one is a workload of
its task (``--dataset NAME``), the first dataset of each task (the quick preset's) is unchanged, and rows of
the study's datasets that differ in shape (ReCoRD passages, captionless images) become inputs."""

import pytest
from PIL import Image

from wattprint.tasks.registry import get_task, task_names
from wattprint.workloads import synthetic
from wattprint.workloads.specs import STUDY_DATASETS, STUDY_READING, spec, study_datasets

FIRST = {"text-classification": "imdb", "token-classification": "conll2003", "question-answering": "squad",
         "fill-mask": "wikitext", "text-generation": "wikitext", "summarization": "cnn_dailymail",
         "image-classification": "imagenet-1k", "object-detection": "coco", "image-captioning": "coco_captions",
         "image-generation": "diffusiondb", "sentence-similarity": "stsb",
         "automatic-speech-recognition": "librispeech"}


def test_every_study_dataset_is_a_workload_of_its_task():
    assert len(STUDY_DATASETS) == 10 and all(len(v) == 3 for v in STUDY_DATASETS.values())
    for task, names in STUDY_DATASETS.items():
        t = get_task(task)
        for name in names:
            d = spec(name)
            assert t.dataset(name) is d and d.source and d.hub_id and d.fields, name
    assert {d.name for d in study_datasets("image-generation")} == {"diffusiondb", "imagereward", "sd_prompts"}
    assert study_datasets("sentence-similarity") == ()
    assert set(STUDY_READING) <= {n for names in STUDY_DATASETS.values() for n in names}


def test_the_first_dataset_of_each_task_is_unchanged():
    assert {t: get_task(t).datasets[0].name for t in task_names()} == FIRST


@pytest.mark.parametrize("name", ["cppe5", "visual_genome", "redcaps"])
def test_image_specs_make_images_of_their_sizes(name):
    s = spec(name)
    imgs, desc = synthetic.images(s.stats, 12, seed=0)
    widths = [i.width for i in imgs]
    assert abs(sum(widths) / len(widths) - s.stats["width_mean"]) < s.stats["width_std"]
    assert all(s.stats["size_min"] <= min(i.size) and max(i.size) <= s.stats["size_max"] for i in imgs)
    assert "640x480" in s.source  # the study's resize is said where the statistics are


@pytest.mark.parametrize("name,prefix", [("c4", "tokens"), ("imagereward", "tokens"), ("sd_prompts", "tokens"),
                                         ("wikiann", "words"), ("record", "words")])
def test_text_specs_have_length_statistics(name, prefix):
    d = synthetic.length_dist(spec(name).stats, prefix)
    assert d.lo < d.mean < d.hi and d.std > 0


def _fake_rows(monkeypatch, rows):
    from wattprint.workloads import hub

    monkeypatch.setattr(hub, "rows", lambda spec, n, seed: rows[:n])
    monkeypatch.setattr(hub, "resolve_workload", lambda w: ("dataset", "test"))


def test_record_passages_become_word_lists_without_labels(monkeypatch):
    _fake_rows(monkeypatch, [{"passage": "The cat sat on the mat ."}, {"passage": "Rain fell"}])
    task = get_task("token-classification")
    inputs = task.make_inputs(None, spec("record"), "dataset", 2)
    assert inputs.items == [["The", "cat", "sat", "on", "the", "mat", "."], ["Rain", "fell"]]
    assert inputs.references is None and inputs.workload == "dataset"


def test_captionless_images_become_inputs_without_references(monkeypatch):
    img = Image.new("RGB", (50, 40))
    _fake_rows(monkeypatch, [{"image": img}, {"image": img}])
    task = get_task("image-captioning")
    inputs = task.make_inputs(None, spec("visual_genome"), "dataset", 2)
    assert [i.size for i in inputs.items] == [(50, 40), (50, 40)] and inputs.references is None
