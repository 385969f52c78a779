"""Offline, a detector's stand-in processor resizes as the model's own does (YOLOS-tiny: shortest edge 512)."""

from __future__ import annotations

import pytest

from wattprint.models.catalog import get_entry
from wattprint.tasks.base import LoadSettings
from wattprint.tasks.registry import get_task


def _sizes(model: str, **overrides):
    task = get_task("object-detection")
    settings = LoadSettings(device="cpu", dtype="float32", weights="random", overrides=overrides)
    loaded = task.load(get_entry(model, task=task.name), settings)
    proc = loaded.processor
    return proc.size, loaded.extra


@pytest.mark.slow
def test_yolos_tiny_resizes_to_its_own_512_and_detr_to_the_familys_800():
    tiny, extra = _sizes("yolos-tiny")
    assert (tiny["shortest_edge"], tiny["longest_edge"]) == (512, 1333)  # hustvl/yolos-tiny's own processor
    assert "shortest edge 512, longest 1333" in str(extra)  # the record says which stand-in ran
    detr, _ = _sizes("detr-resnet-50", config={"num_hidden_layers": 1})
    assert (detr["shortest_edge"], detr["longest_edge"]) == (800, 1333)


@pytest.mark.slow
def test_an_image_size_override_scales_both_edges_for_cpu_runs():
    small, _ = _sizes("yolos-tiny", image_size=64)
    assert (small["shortest_edge"], small["longest_edge"]) == (64, 107)
