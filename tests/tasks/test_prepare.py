"""Preprocessing apart from the model call (the aienergyscore protocol's preprocess phase): for every task that
declares it separable, ``run_prepared(prepare(batch))`` gives exactly what ``run_batch(batch)`` gives, and what
``prepare`` returns holds no tensor on an accelerator (it is the CPU-side step the protocol measures apart)."""

import pytest

from wattprint.tasks.registry import task_names

SEPARABLE = sorted(t for t in task_names() if t != "image-generation")  # a diffusers call takes the prompts


def _tensors(obj):
    if hasattr(obj, "device") and hasattr(obj, "shape"):
        yield obj
    elif isinstance(obj, dict) or hasattr(obj, "data") and isinstance(obj.data, dict):
        for v in (obj if isinstance(obj, dict) else obj.data).values():
            yield from _tensors(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _tensors(v)


@pytest.mark.slow
@pytest.mark.parametrize("name", SEPARABLE)
def test_prepared_run_equals_run_batch(name, tiny, recording_phases):
    from wattprint.models.catalog import get_entry
    from wattprint.tasks.base import LoadSettings
    from wattprint.tasks.registry import get_task

    task = get_task(name)
    assert task.separable_preprocess
    entry_name, overrides, params = tiny[name]
    settings = LoadSettings(weights="random", overrides=overrides, params=params, seed=1)
    loaded = task.load(get_entry(entry_name), settings)
    batch = task.make_inputs(loaded, task.datasets[0], "synthetic", 2, seed=3).items
    direct = task.run_batch(loaded, batch, recording_phases(), params)
    prepared = task.prepare(loaded, batch, params)
    assert all(str(t.device) == "cpu" for t in _tensors(prepared))
    phases = recording_phases()
    again = task.run_prepared(loaded, prepared, phases, params)
    assert again.units == direct.units and again.outputs == direct.outputs
    if task.generative:
        assert phases.events[0] == ("begin", "prefill") and phases.events[-1][0] == "end"


def test_image_generation_keeps_its_prompts_inline():
    from wattprint.tasks.registry import get_task

    assert get_task("image-generation").separable_preprocess is False
