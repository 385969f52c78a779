"""The catalog: every entry's kept architecture has the published parameter count (built on the meta device),
names and hub ids resolve, unknown names suggest close matches, outside models become ad-hoc entries."""

import pytest

from wattprint.core.errors import ConfigError, UnknownNameError
from wattprint.models.catalog import entries, get_entry, smallest
from wattprint.tasks.registry import get_task, task_names

ALL = entries()


def test_catalog_covers_every_task_with_several_models():
    for task in task_names():
        assert len(entries(task)) >= 4, task
    assert len(ALL) >= 80
    assert len({e.name for e in ALL}) == len(ALL)
    assert len({e.hub_id.lower() for e in ALL}) == len(ALL)


def test_required_families_are_in_the_catalog():
    families = {e.family for e in ALL}
    for f in ("DistilBERT", "BERT", "RoBERTa", "DeBERTa", "XLM-RoBERTa", "ALBERT", "ELECTRA", "GPT-2", "BLOOM",
              "OPT", "GPT-Neo", "Llama 3", "Qwen2.5", "Qwen3", "BART", "DistilBART", "PEGASUS", "T5", "Flan-T5",
              "BLOOMZ", "ResNet", "ViT", "BEiT", "ConvNeXt V2", "MobileNet", "DETR", "YOLOS", "Deformable DETR",
              "BLIP", "GIT", "ViT-GPT2", "BLIP-2", "Stable Diffusion", "Stable Diffusion XL", "Whisper"):
        assert f in families, f
    general = {e.name for e in ALL if e.kind == "general-purpose"}
    assert {"flan-t5-base", "flan-t5-xxl", "bloomz-560m", "bloomz-7b1"} <= general


@pytest.mark.slow
@pytest.mark.parametrize("entry", ALL, ids=[e.name for e in ALL])
def test_kept_architecture_has_the_published_parameter_count(entry):
    from wattprint.models.build import meta_parameter_counts

    auto_class = get_task(entry.task).model_class(entry)
    unique, with_copies = meta_parameter_counts(entry.config, auto_class)
    err = min(abs(unique - entry.parameters), abs(with_copies - entry.parameters)) / entry.parameters
    assert err <= entry.tolerance, f"{entry.name}: built {unique:,} ({with_copies:,} with tied copies), " \
                                   f"published {entry.parameters:,} ({entry.parameters_source})"


def test_entries_carry_sources():
    for e in ALL:
        assert e.parameters_source and e.config_source.startswith("https://"), e.name
        assert e.config is not None and e.kind in ("task-specific", "general-purpose")


def test_get_entry_by_name_or_hub_id_case_insensitive():
    a = get_entry("distilbert-sst2")
    assert get_entry("distilbert/distilbert-base-uncased-finetuned-sst-2-english") == a
    assert get_entry("DistilBERT-SST2") == a
    assert a.task == "text-classification" and a.parameters == 66_955_010


def test_unknown_model_suggests_close_matches():
    with pytest.raises(UnknownNameError) as e:
        get_entry("distilbert-sst")
    assert "distilbert-sst2" in str(e.value)


def test_hub_id_outside_the_catalog_is_an_adhoc_entry_that_cannot_be_random():
    from wattprint.models.loaders import plan_weights

    e = get_entry("someone/some-model", task="text-classification")
    assert not e.in_catalog and e.kind == "unknown" and e.config is None and e.tasks == ("text-classification",)
    with pytest.raises(ConfigError):
        plan_weights(e, "random")


def test_smallest_prefers_task_specific_models():
    assert smallest("text-generation").name == "distilgpt2"
    assert smallest("sentence-similarity").name == "all-minilm-l6-v2"
    assert smallest("image-generation").name == "bk-sdm-tiny"
    for task in task_names():
        s = smallest(task)
        assert all(s.parameters <= e.parameters for e in entries(task) if e.kind == s.kind)


def test_legacy_hub_id_without_owner_resolves():
    assert get_entry("gpt2-medium").hub_id == "openai-community/gpt2-medium"
    assert get_entry("distilbert-base-uncased-finetuned-sst-2-english").name == "distilbert-sst2"
