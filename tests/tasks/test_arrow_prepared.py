"""The aienergyscore preset's data path (preprocess = "arrow"): prepared batches written to an Arrow file and read
back through the ``datasets`` torch formatter, as the AI Energy Score protocol reads its cache. For every task with
a separable preprocessing, a batch read back runs to exactly what the batch in memory gives."""

import pytest

from wattprint.tasks.registry import task_names

pytest.importorskip("datasets")

SEPARABLE = sorted(t for t in task_names() if t != "image-generation")


def test_split_join_round_trip_keeps_types_shapes_and_leaves():
    import torch
    from transformers import BatchEncoding

    from wattprint.bench.arrow_inputs import ArrowInputs

    enc = BatchEncoding({"input_ids": torch.tensor([[5, 6, 7]]), "attention_mask": torch.ones(1, 3, dtype=torch.long)})
    pixels = torch.rand(2, 3, 8, 8)
    batches = [(enc, [(8, 8), (9, 9)]), (BatchEncoding({"input_ids": torch.tensor([[1, 2]]),
                                                        "attention_mask": torch.ones(1, 2, dtype=torch.long)}), [])]
    stored = ArrowInputs(batches)
    assert len(stored) == 2
    back, sizes = stored[0]
    assert isinstance(back, BatchEncoding) and sizes == [(8, 8), (9, 9)]
    assert torch.equal(back["input_ids"], enc["input_ids"]) and back["input_ids"].dtype == torch.int64
    assert torch.equal(stored[1][0]["input_ids"], torch.tensor([[1, 2]]))
    one = ArrowInputs([pixels, pixels * 2])
    assert one[1].dtype == torch.float32 and torch.equal(one[1], pixels * 2) and one[0].shape == (2, 3, 8, 8)


@pytest.mark.slow
@pytest.mark.parametrize("name", SEPARABLE)
def test_batch_read_back_from_arrow_runs_as_in_memory(name, tiny, recording_phases):
    from wattprint.bench.arrow_inputs import ArrowInputs
    from wattprint.models.catalog import get_entry
    from wattprint.tasks.base import LoadSettings
    from wattprint.tasks.registry import get_task

    task = get_task(name)
    entry_name, overrides, params = tiny[name]
    loaded = task.load(get_entry(entry_name), LoadSettings(weights="random", overrides=overrides, seed=1))
    batch = task.make_inputs(loaded, task.datasets[0], "synthetic", 2, seed=3).items
    prepared = task.prepare(loaded, batch, params)
    direct = task.run_prepared(loaded, prepared, recording_phases(), params)
    again = task.run_prepared(loaded, ArrowInputs([prepared])[0], recording_phases(), params)
    assert again.units == direct.units and again.outputs == direct.outputs


def _fake_torchvision(monkeypatch, with_video_reader):
    """torchvision loaded, its io module with or without VideoReader (torchvision 0.26 dropped it), and datasets
    seeing it installed."""
    import types

    from datasets import config

    tv, io = types.ModuleType("torchvision"), types.ModuleType("torchvision.io")
    tv.io = io
    if with_video_reader:
        io.VideoReader = type("VideoReader", (), {})
    monkeypatch.setitem(__import__("sys").modules, "torchvision", tv)
    monkeypatch.setitem(__import__("sys").modules, "torchvision.io", io)
    monkeypatch.setattr(config, "TORCHVISION_AVAILABLE", True)
    return config


def test_reads_skip_datasets_video_check_only_while_it_can_never_succeed(monkeypatch):
    import torch

    from wattprint.bench import arrow_inputs

    config = _fake_torchvision(monkeypatch, with_video_reader=False)
    seen = []
    real = arrow_inputs.join
    def join(skeleton, row):
        seen.append(config.TORCHVISION_AVAILABLE)
        return real(skeleton, row)

    monkeypatch.setattr(arrow_inputs, "join", join)
    stored = arrow_inputs.ArrowInputs([torch.rand(1, 3, 4, 4)])
    assert stored.notes == [arrow_inputs.DEAD_VIDEO_CHECK_NOTE]
    assert torch.is_tensor(stored[0]) and seen == [False]  # the read ran with the check off...
    assert config.TORCHVISION_AVAILABLE is True  # ...and the switch is back for everyone else
    config = _fake_torchvision(monkeypatch, with_video_reader=True)  # a torchvision that has it: left alone
    stored = arrow_inputs.ArrowInputs([torch.rand(1, 3, 4, 4)])
    assert stored.notes == [] and torch.is_tensor(stored[0]) and seen == [False, True]
