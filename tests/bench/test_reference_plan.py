"""benchmarks/reference_plan.py: which jobs the reference runs, their order, estimates and parts."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import reference_plan as rp  # noqa: E402
from wattprint.models.catalog import entries, get_entry  # noqa: E402


def test_study_set_is_every_study_model_on_its_study_tasks_plus_modern_llms():
    jobs = rp.study_set()
    keys = {(j.task, j.model) for j in jobs}
    assert {j.preset for j in jobs} == {"aienergyscore"}
    want = {(t, e.name) for t in rp.STUDY_TASKS for e in entries(t) if e.study and e.name != "deta-swin-large"}
    assert want <= keys and ("object-detection", "deta-swin-large") not in keys  # not buildable with transformers 5
    assert rp.left_out() == [("object-detection", "deta-swin-large", "DETA was removed from transformers 5")]
    modern = {"llama-3.2-1b-instruct", "llama-3.2-3b-instruct", "llama-3.1-8b-instruct", "qwen2.5-0.5b-instruct",
              "qwen2.5-1.5b-instruct", "qwen2.5-7b-instruct", "qwen3-0.6b", "qwen3-8b"}
    assert {("text-generation", m) for m in modern} <= keys
    board = {(j.task, j.model) for j in rp.leaderboard_jobs()}  # the leaderboard's models of the catalog
    assert ("summarization", "t5-small") in board and ("automatic-speech-recognition", "whisper-tiny") in board
    assert keys == want | {("text-generation", m) for m in modern} | board  # nothing else: no gpt2-medium-xl, ...
    assert ("text-generation", "t5-small") not in keys and ("fill-mask", "xlm-roberta-large") not in keys
    extra = board - want - {("text-generation", m) for m in modern}
    assert {j.why for j in jobs if (j.task, j.model) in extra} == {"on the AI Energy Score leaderboard"}
    assert len(jobs) == len(keys) == 134


def test_leaderboard_jobs_keep_catalog_models_on_the_leaderboards_task(tmp_path):
    p = tmp_path / "board.csv"
    p.write_text("model,hub_id,task,gpu,kwh_per_1000,source\n"
                 "t5-small,google-t5/t5-small,summarization,H100,0.002,s\n"
                 "x,nobody/not-in-the-catalog-zz,fill-mask,H100,1,s\n"
                 "deta-swin-large,jozhang97/deta-swin-large,object-detection,H100,1,s\n")
    assert [(j.task, j.model, j.why) for j in rp.leaderboard_jobs(p)] == \
        [("summarization", "t5-small", "on the AI Energy Score leaderboard")]  # unknown and unbuildable left out
    assert rp.leaderboard_jobs(tmp_path / "none.csv") == []


def test_order_puts_decoder_only_text_generation_first_smallest_first():
    jobs = rp.study_set()
    tg = [j for j in jobs if j.task == "text-generation"]
    assert jobs[: len(tg)] == tg
    decoders = [j for j in tg if rp.is_decoder_only(get_entry(j.model))]
    assert tg[: len(decoders)] == decoders and len(decoders) == 22  # with opt-125m, gpt2-large
    assert [j.parameters for j in decoders] == sorted(j.parameters for j in decoders)
    assert decoders[0].model == "distilgpt2" and decoders[-1].model == "qwen3-8b"


def test_paper_set_by_parameters_least_median_most_and_size_classes():
    jobs = rp.paper_set()
    by: dict[str, list] = {}
    for j in jobs:
        by.setdefault(j.task, []).append(j)
    assert set(by) == set(rp.STUDY_TASKS)
    fm = {j.model: j.why for j in by["fill-mask"]}
    assert fm == {"albert-base-v2": "least task-specific, by parameter count (fewer than 3 aienergyscore figures)",
                  "roberta-base": "median task-specific, by parameter count (fewer than 3 aienergyscore figures)",
                  "xlm-roberta-base": "most task-specific, by parameter count (fewer than 3 aienergyscore figures)"}
    tg = {j.model for j in by["text-generation"]}
    assert {"bloomz-560m", "bloomz-1b7", "bloomz-3b", "bloomz-7b1"} <= tg  # for the break-even
    assert {"flan-t5-base", "flan-t5-xxl"} <= tg  # general-purpose, smallest and largest
    sizes = [get_entry(m).parameters for m in tg if rp.is_decoder_only(get_entry(m))]
    for lo, hi, _ in rp.SIZE_CLASSES:  # a decoder-only model of every size class
        assert any(lo <= p < hi for p in sizes)
    assert {j.preset for j in jobs} == {"paper"}


def test_paper_set_ranks_by_given_figures_when_three_are_known():
    figures = {("fill-mask", "bert-base-cased"): 5.0, ("fill-mask", "roberta-base"): 0.5,
               ("fill-mask", "xlm-roberta-base"): 2.0}
    fm = {j.model: j.why for j in rp.paper_set(figures) if j.task == "fill-mask"}
    assert set(fm) == {"roberta-base", "xlm-roberta-base", "bert-base-cased"}
    assert fm["roberta-base"].startswith("least task-specific, by aienergyscore GPU Wh / 1,000 (3 of 8 measured)")
    assert fm["bert-base-cased"].startswith("most")
    assert fm["xlm-roberta-base"].startswith("median")


def test_read_figures_takes_the_done_aienergyscore_rows_of_a_results_csv(tmp_path):
    p = tmp_path / "r.csv"
    ds = rp.preset_dataset("aienergyscore", "fill-mask")
    p.write_text("task,model,preset,gpu_wh_per_1000,stop,dataset\n"
                 f"fill-mask,roberta-base,aienergyscore,0.5,tight,{ds}\n"
                 f"fill-mask,roberta-base,paper,9,tight,{ds}\n"
                 f"fill-mask,albert-base-v2,aienergyscore,,tight,{ds}\n"
                 f"fill-mask,bert-base-cased,aienergyscore,3,,{ds}\n"  # the fixed protocol: no stop reason
                 "fill-mask,deberta-base,aienergyscore,4,tight,another-dataset\n")
    assert rp.read_figures(str(p)) == {("fill-mask", "roberta-base"): 0.5}
    assert rp.read_figures(str(tmp_path / "missing.csv")) == {}


def test_estimate_is_the_tasks_measured_setup_and_repeats_within_the_cap():
    small = rp.PlannedJob("aienergyscore", "text-classification", "distilbert-sst2", 66_955_010)
    # measured median set-up (8 s) and 3 repeats of the 2.5 s budget: building is quicker than the median
    assert rp.estimate_seconds(small) == pytest.approx(8.0 + 3 * 2.5, 1e-6)
    big = rp.PlannedJob("aienergyscore", "image-generation", "sdxl-base-1.0", 3_468_837_867)
    per = 0.8 + 1.4 * 3.468837867
    # no measured set-up for the task: building the weights and warm-up; a repeat is its floor of 3 images
    assert rp.estimate_seconds(big) == pytest.approx(4 + 6 * 3.468837867 + 4 * per + 5 * 3 * per, 1e-6)
    slow = rp.PlannedJob("aienergyscore", "automatic-speech-recognition", "whisper-large-v3", 1_543_490_560)
    per = 0.4 + 1.2 * 1.54349056
    # 7 repeats of 10 inputs would pass the job's cap: the repeats stop before one would pass it
    assert 7 * 10 * per > rp.JOB_CAP_S
    assert rp.estimate_seconds(slow) == pytest.approx(28.0 + rp.JOB_CAP_S, 1e-6)


def test_split_is_contiguous_balanced_and_covers_every_job_once():
    jobs = rp.study_set()
    parts = rp.split(jobs, 8)
    assert [j for p in parts for j in p] == jobs
    n = rp.parts_needed(jobs, 480.0)
    assert max(sum(rp.estimate_seconds(j) for j in p) for p in rp.split(jobs, n)) <= 480.0
    assert n == 1 or max(sum(rp.estimate_seconds(j) for j in p) for p in rp.split(jobs, n - 1)) > 480.0


def test_select_part_only_done_and_decoder_only():
    jobs = rp.study_set()
    dec = rp.select(jobs, decoder_only=True)
    assert len(dec) == 22 and all(j.task == "text-generation" for j in dec)
    p1, p2 = rp.select(jobs, "1/2", decoder_only=True), rp.select(jobs, "2/2", decoder_only=True)
    assert p1 + p2 == dec and p1 and p2
    only = rp.select(jobs, only=["text-generation/distilgpt2", "resnet-18"])
    assert [j.label for j in only] == ["text-generation/distilgpt2", "image-classification/resnet-18"]
    rest = rp.select(jobs, decoder_only=False)
    assert len(rest) == len(jobs) - 22 and not set(rest) & set(dec)
    done = {("aienergyscore", "text-generation", "distilgpt2")}
    assert rp.select(jobs, "1/2", done=done, decoder_only=True) == p1[1:]  # a part keeps its other jobs


def test_done_keys_and_listing(tmp_path):
    p = tmp_path / "h.csv"
    p.write_text("task,model,preset,stop\ntext-generation,distilgpt2,aienergyscore,tight\n"
                 "text-generation,gpt2,aienergyscore,time cap\n"
                 "fill-mask,albert-base-v2,aienergyscore,\n")  # an earlier fixed-repeat row: measured again
    assert rp.done_keys(str(p)) == {("aienergyscore", "text-generation", "distilgpt2"),
                                    ("aienergyscore", "text-generation", "gpt2")}
    text = rp.listing(rp.select(rp.study_set(), decoder_only=True), 2)
    assert text.startswith("part 1/2: ") and "part 2/2: " in text
    assert text.splitlines()[-2].startswith("22 jobs, ~")
    assert text.splitlines()[-1] == ("left out (cannot be built here): object-detection/deta-swin-large: "
                                     "DETA was removed from transformers 5")


def test_refresh_set_is_every_row_still_from_a_fixed_repeat_run(tmp_path):
    p = tmp_path / "h.csv"
    p.write_text("task,model,preset,stop\ntext-generation,distilgpt2,aienergyscore,tight\n"
                 "fill-mask,albert-base-v2,aienergyscore,\n"
                 "fill-mask,albert-base-v2,paper,\n"
                 "object-detection,deta-swin-large,paper,\n"  # cannot be built here: left out
                 "fill-mask,no-such-model,paper,\n")
    jobs = rp.plan("refresh", str(p))
    assert {j.key for j in jobs} == {("aienergyscore", "fill-mask", "albert-base-v2"),
                                     ("paper", "fill-mask", "albert-base-v2")} and len(jobs) == 2
    assert all(j.why == "published from an earlier fixed-repeat run" for j in jobs)
    assert rp.plan("refresh", None) == []


def test_a_row_on_a_dataset_its_preset_no_longer_uses_is_measured_again(tmp_path):
    p = tmp_path / "h.csv"
    p.write_text("task,model,preset,dataset,stop\n"
                 "summarization,t5-small,aienergyscore,cnn_dailymail,tight\n"  # before the protocol's dataset
                 "summarization,t5-base,aienergyscore,aienergyscore_summarization,tight\n"
                 "summarization,t5-small,paper,cnn_dailymail,tight\n"
                 "image-classification,resnet-18,aienergyscore,imagenet-1k,tight\n")
    assert rp.done_keys(str(p)) == {("aienergyscore", "summarization", "t5-base"),
                                    ("paper", "summarization", "t5-small"),
                                    ("aienergyscore", "image-classification", "resnet-18")}
    jobs = rp.plan("refresh", str(p))
    assert [(j.key, j.why) for j in jobs] == [
        (("aienergyscore", "summarization", "t5-small"),
         "published on cnn_dailymail; the preset now uses aienergyscore_summarization")]


def test_a_row_of_few_texts_of_drawn_lengths_is_measured_again(tmp_path):
    p = tmp_path / "h.csv"
    head = "task,model,preset,dataset,samples,workload,commit,stop\n"
    p.write_text(head +
                 "text-classification,bloomz-560m,aienergyscore,aienergyscore_text_classification,14,synthetic,"
                 "02405ce,tight\n"  # 14 texts of drawn lengths: their mean missed the dataset's
                 "text-classification,distilbert-sst2,aienergyscore,aienergyscore_text_classification,524,synthetic,"
                 "02405ce,tight\n"  # 524 of them: close enough
                 "text-classification,bloomz-3b,aienergyscore,aienergyscore_text_classification,19,synthetic,"
                 "94cb208,tight\n"  # lengths spread over the quantiles
                 "image-classification,resnet-18,aienergyscore,imagenet-1k,40,synthetic,02405ce,tight\n")  # no texts
    assert rp.done_keys(str(p)) == {("aienergyscore", "text-classification", "distilbert-sst2"),
                                    ("aienergyscore", "text-classification", "bloomz-3b"),
                                    ("aienergyscore", "image-classification", "resnet-18")}
    (job,) = rp.plan("refresh", str(p))
    assert job.key == ("aienergyscore", "text-classification", "bloomz-560m")
    assert job.why == "published from 14 texts of randomly drawn lengths"


def test_unknown_set_is_an_error():
    with pytest.raises(ValueError, match="unknown set 'papr'"):
        rp.plan("papr")
