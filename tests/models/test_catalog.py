"""The catalog: every entry's kept architecture builds (on the meta device) to exactly its ``parameters``, the
study's 90 models are all there under the ids the study used, names, hub ids and aliases resolve, unknown
names suggest close matches, outside models become ad-hoc entries."""

import pytest

from wattprint.core.errors import ConfigError, UnknownNameError
from wattprint.models.catalog import entries, get_entry, lookup, smallest
from wattprint.tasks.registry import get_task, task_names

ALL = entries()

# Entries that cannot be built on the meta device with the installed libraries, and why. The build test
# checks that each of them still fails (so the list shrinks when it can) and that no other entry does.
UNBUILDABLE = {
    "deta-swin-large": "DETA was deprecated in transformers 4.x and removed in 5: no model class to build",
}

# The study's task-specific models, as its released CodeCarbon logs name them (project_name in
# data/emissions/complete/*.csv of github.com/sashavor/co2_inference), and its 8 multi-purpose models.
STUDY_IDS = {
    "text-classification": [
        "distilbert-base-uncased-finetuned-sst-2-english", "nlptown/bert-base-multilingual-uncased-sentiment",
        "cardiffnlp/twitter-roberta-base-sentiment-latest", "cardiffnlp/twitter-xlm-roberta-base-sentiment",
        "lvwerra/distilbert-imdb", "siebert/sentiment-roberta-large-english",
        "finiteautomata/bertweet-base-sentiment-analysis", "sbcBI/sentiment_analysis_model"],
    "token-classification": [
        "Babelscape/wikineural-multilingual-ner", "Jean-Baptiste/roberta-large-ner-english",
        "QCRI/bert-base-multilingual-cased-pos-english",
        "dmargutierrez/distilbert-base-multilingual-cased-mapa_coarse-ner", "dslim/bert-base-NER",
        "dslim/bert-large-NER", "elastic/distilbert-base-cased-finetuned-conll03-english",
        "xlm-roberta-large-finetuned-conll03-english"],
    "question-answering": [
        "bert-large-uncased-whole-word-masking-finetuned-squad", "deepset/bert-large-uncased-whole-word-masking-squad2",
        "deepset/electra-base-squad2", "deepset/roberta-base-squad2", "deepset/tinyroberta-squad2",
        "distilbert-base-cased-distilled-squad", "distilbert-base-uncased-distilled-squad",
        "timpal0l/mdeberta-v3-base-squad2"],
    "fill-mask": [
        "albert-base-v2", "bert-base-cased", "bert-base-multilingual-cased", "bert-base-uncased",
        "distilbert-base-uncased", "microsoft/deberta-base", "roberta-base", "xlm-roberta-base"],
    "text-generation": [
        "EleutherAI/gpt-neo-125m", "bigscience/bloom-560m", "distilgpt2", "facebook/opt-1.3b", "facebook/opt-6.7b",
        "gpt2", "gpt2-medium", "gpt2-xl"],
    "summarization": [
        "ainize/bart-base-cnn", "facebook/bart-large-cnn", "google/pegasus-large", "google/pegasus-multi_news",
        "google/pegasus-xsum", "pszemraj/led-large-book-summary", "sshleifer/distilbart-cnn-12-6",
        "sshleifer/distilbart-xsum-12-6"],
    "image-classification": [
        "facebook/convnextv2-tiny-1k-224", "facebook/convnextv2-tiny-22k-384", "google/mobilenet_v1_0.75_192",
        "google/vit-base-patch16-224", "google/vit-base-patch16-384", "microsoft/beit-base-patch16-224-pt22k-ft22k",
        "microsoft/resnet-18", "microsoft/resnet-50"],
    "object-detection": [
        "SenseTime/deformable-detr", "facebook/detr-resnet-101", "facebook/detr-resnet-50", "hustvl/yolos-small",
        "hustvl/yolos-tiny", "jozhang97/deta-swin-large", "polejowska/detr-r50-cd45rb-1ah-6l",
        "polejowska/detr-r50-cd45rb-8ah-6l-gelu-corrected"],
    "image-captioning": [
        "Salesforce/blip-image-captioning-base", "Salesforce/blip-image-captioning-large",
        "Salesforce/blip2-flan-t5-xl", "Salesforce/blip2-opt-2.7b", "microsoft/git-base", "microsoft/git-large-coco",
        "nlpconnect/vit-gpt2-image-captioning", "ydshieh/vit-gpt2-coco-en"],
    "image-generation": [
        "CompVis/stable-diffusion-v1-4", "SG161222/Realistic_Vision_V1.4", "dreamlike-art/dreamlike-photoreal-2.0",
        "nota-ai/bk-sdm-tiny", "prompthero/openjourney", "runwayml/stable-diffusion-v1-5", "segmind/tiny-sd",
        "stabilityai/stable-diffusion-2-1", "stabilityai/stable-diffusion-2-1-base",
        "stabilityai/stable-diffusion-xl-base-1.0"],
}
STUDY_GENERAL = ["google/flan-t5-base", "google/flan-t5-large", "google/flan-t5-xl", "google/flan-t5-xxl",
                 "bigscience/bloomz-560m", "bigscience/bloomz-1b7", "bigscience/bloomz-3b", "bigscience/bloomz-7b1"]


def test_catalog_covers_every_task_with_several_models():
    for task in task_names():
        assert len(entries(task)) >= 4, task
    assert len(ALL) >= 120
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


def test_every_study_model_is_in_the_catalog_under_the_id_the_study_used():
    for task, ids in STUDY_IDS.items():
        found = [lookup(i) for i in ids]
        missing = [i for i, e in zip(ids, found) if e is None]
        assert not missing, f"{task}: {missing}"
        assert all(e.study and e.kind == "task-specific" and task in e.tasks for e in found), task
        assert len({e.name for e in found}) == len(ids)
    general = [lookup(i) for i in STUDY_GENERAL]
    assert all(e is not None and e.study and e.kind == "general-purpose" for e in general)
    study = entries(study=True)
    assert len(study) == sum(map(len, STUDY_IDS.values())) + len(STUDY_GENERAL) == 90
    assert {e.name for e in study} == {lookup(i).name for ids in [*STUDY_IDS.values(), STUDY_GENERAL] for i in ids}


@pytest.mark.parametrize("entry", ALL, ids=[e.name for e in ALL])
def test_parameters_are_what_the_kept_architecture_builds(entry):
    """Exact: ``parameters`` is the unique-tensor count of the kept config built on the meta device."""
    from wattprint.models.build import meta_parameter_counts

    auto_class = get_task(entry.task).model_class(entry)
    if entry.name in UNBUILDABLE:
        with pytest.raises(ConfigError):
            meta_parameter_counts(entry.config, auto_class)
        assert entry.parameters == entry.study_parameters and "not buildable" in entry.parameters_source
        return
    unique, with_copies = meta_parameter_counts(entry.config, auto_class)
    assert unique == entry.parameters, f"{entry.name}: built {unique:,} ({with_copies:,} with tied copies), " \
                                       f"catalog says {entry.parameters:,}"


def test_other_counts_are_explained_where_they_differ():
    for e in ALL:
        for label, other in (("published", e.published_parameters), ("study", e.study_parameters)):
            if other is not None and other != e.parameters:
                assert f"{label} {other:,}:" in e.parameters_note, e.name
        if e.published_parameters is not None:
            assert e.published_source, e.name
        if e.study:
            assert e.study_parameters, e.name


def test_sd1_study_counts_include_the_safety_checker_the_config_keeps():
    """The study's SD 1.x figures are the pipeline plus its 303,981,588-parameter safety checker, built here
    from the kept config; pipelines without one (dreamlike, tiny-sd, SD 2.x, SDXL) match the study as built."""
    import torch

    from wattprint.models.build import build_safety_checker, count_parameters

    with torch.device("meta"):
        checker = build_safety_checker(get_entry("sd-1.5").config)
    assert count_parameters(checker) == 303_981_588
    for e in entries("image-generation", study=True):
        extra = 303_981_588 if e.safety_checker else 0
        assert e.study_parameters == e.parameters + extra, e.name
        assert ("safety_checker" in e.config) == e.safety_checker, e.name


def test_entries_carry_sources():
    for e in ALL:
        assert e.parameters_source and e.config_source, e.name
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


QUICK = {"text-classification": "distilbert-sst2", "token-classification": "distilbert-ner",
         "question-answering": "albert-base-v2-squad2", "fill-mask": "albert-base-v2", "text-generation": "distilgpt2",
         "summarization": "t5-small", "image-classification": "mobilenet-v2", "object-detection": "yolos-tiny",
         "image-captioning": "git-base", "image-generation": "bk-sdm-tiny", "sentence-similarity": "all-minilm-l6-v2",
         "automatic-speech-recognition": "whisper-tiny"}


def test_the_quick_preset_models_are_unchanged():
    assert {t: smallest(t).name for t in task_names()} == QUICK


def test_smallest_prefers_task_specific_models():
    assert smallest("text-generation").name == "distilgpt2"
    assert smallest("sentence-similarity").name == "all-minilm-l6-v2"
    assert smallest("image-generation").name == "bk-sdm-tiny"
    assert smallest("image-classification").name == "mobilenet-v2"  # mobilenet-v1-0.75-192 is quick = false
    for task in task_names():
        s = smallest(task)
        assert all(s.parameters <= e.parameters for e in entries(task) if e.kind == s.kind and e.quick)


def test_legacy_hub_id_without_owner_resolves():
    assert get_entry("gpt2-medium").hub_id == "openai-community/gpt2-medium"
    assert get_entry("distilbert-base-uncased-finetuned-sst-2-english").name == "distilbert-sst2"


def test_moved_hub_ids_resolve_through_aliases():
    sd = get_entry("runwayml/stable-diffusion-v1-5")
    assert sd.name == "sd-1.5" and sd.hub_id == "stable-diffusion-v1-5/stable-diffusion-v1-5"
    assert lookup("RunwayML/Stable-Diffusion-v1-5") == sd
    assert get_entry("bert-base-cased").hub_id == "google-bert/bert-base-cased"
    assert get_entry("xlm-roberta-large-finetuned-conll03-english").name == "xlm-roberta-large-ner"
    assert lookup("someone/gpt2") is None  # an owner that is not the model's is not the model
    assert lookup("no-such-model") is None
    aliases = [a.lower() for e in ALL for a in e.aliases]
    ids = {e.hub_id.lower() for e in ALL} | {e.name.lower() for e in ALL}
    assert len(aliases) >= 6 and len(aliases) == len(set(aliases)) and not set(aliases) & ids


def test_study_filter_and_json_fields():
    d = get_entry("sd-1.4").to_dict()
    assert d["study"] is True and d["safety_checker"] is True and d["study_parameters"] == 1_370_216_895
    assert all(not e.study for e in entries("sentence-similarity"))
    assert {e.name for e in entries(study=False)} | {e.name for e in entries(study=True)} == {e.name for e in ALL}


@pytest.mark.parametrize("project_name", ["runwayml/stable-diffusion-v1-5", "CompVis/stable-diffusion-v1-4",
                                          "distilbert-base-uncased-finetuned-sst-2-english", "gpt2-xl",
                                          "xlm-roberta-large-finetuned-conll03-english"])
def test_the_codecarbon_importer_maps_the_study_project_names_to_their_entries(project_name):
    """The importer's resolver goes through the catalog lookup, so a study log's project name (an id that has
    moved since) lands on its entry, its task and its kind."""
    from wattprint.store.codecarbon_records import ImportOptions, catalog_resolver

    info = catalog_resolver(ImportOptions(inferences_per_run=1))(project_name)
    entry = lookup(project_name)
    assert info.name == entry.name and info.task == entry.task and info.kind == entry.kind == "task-specific"


def test_a_preset_can_select_the_study_models_of_a_task():
    from wattprint.bench.plan import _select

    assert len(_select("image-generation", "study")) == 10
    assert set(_select("summarization", "study")) == {e.name for e in entries("summarization", study=True)}
    assert len(_select("summarization", "study")) == 16  # 8 fine-tuned, Flan-T5 and BLOOMZ zero-shot
    gen = _select("text-generation", "study")  # the study ran no multi-purpose model on text generation
    assert len(gen) == 8 and "bloomz-560m" not in gen and "flan-t5-base" not in gen
    assert "sentence-similarity" not in {t for t in task_names() if any(e.study for e in entries(t))}


def test_an_unbuildable_entry_says_why_in_one_line():
    from wattprint.models.build import meta_parameter_counts

    entry = get_entry("deta-swin-large")
    with pytest.raises(ConfigError) as err:
        meta_parameter_counts(entry.config, get_task(entry.task).model_class(entry))
    assert "removed from transformers 5" in str(err.value)
    assert entry.not_buildable == "DETA was removed from transformers 5" and get_entry("distilgpt2").not_buildable == ""


def test_study_entries_of_a_task_share_the_study_datasets():
    from wattprint.workloads.specs import entry_study_datasets as of

    for task in ("token-classification", "image-generation"):
        assert len({of(e) for e in entries(task, study=True)}) == 1
    assert of(get_entry("wikineural-multilingual-ner")) == ("conll2003", "wikiann", "record")
    flan = of(get_entry("flan-t5-xxl"))  # zero-shot on classification, QA and summarization only
    assert set(flan) == {"imdb", "sst2", "rotten_tomatoes", "squad", "squad_v2", "sciq", "cnn_dailymail", "xsum",
                         "samsum"}
    assert of(get_entry("whisper-tiny")) == ()


def _configs_of_type(model_type: str) -> list[str]:
    from wattprint.models.build import read_config

    return [n for n in sorted({e.config_name for e in ALL if e.config_name})
            if read_config(n).get("model_type") == model_type]


@pytest.mark.parametrize("name", _configs_of_type("blip-2"))
def test_blip2_configs_caption_from_an_image_alone(name):
    """The captioning task calls generate() with pixel values only, as the study's image-to-text pipeline
    did: the kept config must name the image token and the text model's start token (the hub's configs
    do). Built shrunk, with random weights."""
    torch = pytest.importorskip("torch")
    from transformers import Blip2Config, Blip2ForConditionalGeneration

    from wattprint.models.build import read_config

    c = read_config(name)
    small = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2)
    c["vision_config"].update(small)
    c["qformer_config"].update(small)
    text = c["text_config"]
    if text["model_type"] == "t5":
        text.update(d_model=32, d_ff=64, num_layers=1, num_decoder_layers=1, num_heads=2, d_kv=16)
    else:  # OPT
        text.update(small, ffn_dim=64, word_embed_proj_dim=32)
    config = Blip2Config(**{k: v for k, v in c.items() if k != "model_type"})
    torch.manual_seed(0)
    model = Blip2ForConditionalGeneration(config).eval()
    size = config.vision_config.image_size
    out = model.generate(pixel_values=torch.randn(2, 3, size, size), max_new_tokens=3, min_new_tokens=3)
    assert out.shape[0] == 2 and out.shape[1] >= 3
