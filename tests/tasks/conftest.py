"""Tiny versions of one catalog model per task: the catalog's kept config with a few size fields shrunk
(LoadSettings.overrides["config"]), so each test builds a real model of the real family in a second."""

import pytest

TB = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 64}
DISTIL = {"dim": 32, "n_layers": 1, "n_heads": 2, "hidden_dim": 64}
T5 = {"d_model": 32, "d_ff": 64, "num_layers": 1, "num_decoder_layers": 1, "num_heads": 2, "d_kv": 16}
BART = {"d_model": 32, "encoder_layers": 1, "decoder_layers": 1, "encoder_attention_heads": 2,
        "decoder_attention_heads": 2, "encoder_ffn_dim": 64, "decoder_ffn_dim": 64}
RES = {"backbone_config": {"depths": [1, 1, 1, 1], "hidden_sizes": [16, 32, 64, 128], "embedding_size": 16}}
DET = {"d_model": 32, "encoder_layers": 1, "decoder_layers": 1, "encoder_ffn_dim": 64, "decoder_ffn_dim": 64,
       "encoder_attention_heads": 2, "decoder_attention_heads": 2, "num_queries": 10}

# task -> (catalog entry, LoadSettings overrides, task params); image generation's parts come from the
# tiny_diffusion fixture (tests/conftest.py)
TINY = {
    "text-classification": ("distilbert-sst2", {"config": DISTIL}, {}),
    "token-classification": ("bert-base-ner", {"config": TB}, {}),
    "question-answering": ("roberta-base-squad2", {"config": TB}, {}),
    "fill-mask": ("distilbert-base-uncased", {"config": DISTIL}, {}),
    "text-generation": ("gpt2", {"config": {"n_embd": 32, "n_layer": 1, "n_head": 2}}, {"max_new_tokens": 7}),
    "summarization": ("bart-large-cnn", {"config": BART}, {"min_new_tokens": 6, "max_new_tokens": 6}),
    "image-classification": ("vit-base-patch16-224", {"config": dict(TB, image_size=32)}, {}),
    "object-detection": ("detr-resnet-50", {"config": dict(DET, **RES), "image_size": 64}, {}),
    "image-captioning": ("blip-captioning-base",
                         {"config": {"text_config": dict(TB, vocab_size=30524),
                                     "vision_config": dict(TB, image_size=32, patch_size=16)}},
                         {"max_new_tokens": 5, "min_new_tokens": 5}),
    "image-generation": ("bk-sdm-tiny", {"size": 32}, {"num_inference_steps": 2}),
    "sentence-similarity": ("all-mpnet-base-v2", {"config": TB}, {}),
    "automatic-speech-recognition": ("whisper-tiny", {"config": BART}, {"max_new_tokens": 4, "min_new_tokens": 4}),
}


@pytest.fixture
def tiny(tiny_diffusion):
    """task name -> (catalog entry name, LoadSettings overrides, task params)."""
    entry, overrides, params = TINY["image-generation"]
    return {**TINY, "image-generation": (entry, {**overrides, "config": tiny_diffusion}, params)}


@pytest.fixture
def run_tiny(tiny, recording_phases):
    """Run a task's tiny case: returns (task, loaded, inputs, phases, result) of one batch of two."""
    from wattprint.models.catalog import get_entry
    from wattprint.tasks.base import LoadSettings
    from wattprint.tasks.registry import get_task

    def run(name, n=3, batch=2):
        task = get_task(name)
        entry_name, overrides, params = tiny[name]
        settings = LoadSettings(weights="random", overrides=overrides, params=params, seed=1)
        loaded = task.load(get_entry(entry_name), settings)
        inputs = task.make_inputs(loaded, task.datasets[0], "synthetic", n, seed=3)
        phases = recording_phases()
        result = task.run_batch(loaded, inputs.items[:batch], phases, params)
        return task, loaded, inputs, phases, result

    return run
