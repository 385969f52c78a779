"""`wattprint tasks` and `wattprint models` list the registry and the catalog."""

import json

from wattprint.cli.main import main


def test_models_json_for_a_task(capsys):
    assert main(["models", "--task", "object-detection", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    names = {r["name"]: r for r in rows}
    assert {"detr-resnet-50", "yolos-tiny", "deformable-detr"} <= set(names)
    assert names["yolos-tiny"]["hub_id"] == "hustvl/yolos-tiny" and names["yolos-tiny"]["parameters"] == 6_488_736
    assert names["yolos-tiny"]["published_parameters"] == 6_500_000 and names["yolos-tiny"]["study"] is True
    assert all("object-detection" in r["tasks"] and r["kind"] == "task-specific" for r in rows)


def test_models_table_and_unknown_task(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "openai/whisper-large-v3" in out and "general-purpose" in out
    assert main(["models", "--task", "sumarization"]) == 2
    assert "summarization" in capsys.readouterr().err


def test_tasks_lists_all_twelve(capsys):
    assert main(["tasks", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 12
    by = {r["task"]: r for r in rows}
    assert by["sentence-similarity"]["smallest"] == "all-minilm-l6-v2"
    assert by["text-generation"]["smallest"] == "distilgpt2"  # the quick preset's model, task-specific
    assert by["text-generation"]["generative"] is True
    assert by["image-classification"]["datasets"] == ["imagenet-1k", "cifar10", "cifar100"]


def test_tasks_lists_the_parameters_each_task_declares(capsys):
    assert main(["tasks", "--params"]) == 0
    out = capsys.readouterr().out
    assert "token-classification: no parameters" in out
    width = len("encoder_decoder_max_new_tokens")  # the longest name sets the column
    assert f"  {'max_new_tokens':{width}} default 10       a whole number >= 1\n" in out
    assert f"  {'safety_checker':{width}} default false    true or false; at load\n" in out
    assert f"  {'min_new_tokens':{width}} default 10       a whole number >= 1, at most max_new_tokens\n" in out
    assert main(["tasks", "--json"]) == 0
    by = {r["task"]: r for r in json.loads(capsys.readouterr().out)}
    steps = next(p for p in by["image-generation"]["params"] if p["name"] == "num_inference_steps")
    assert steps == {"name": "num_inference_steps", "type": "int", "default": None,
                     "allowed": "a whole number >= 1, or none", "help": "denoising steps; none: the model's default",
                     "at_load": True}
