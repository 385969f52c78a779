"""The pretrained loading paths (the same from_pretrained calls a hub id takes), exercised offline through
local folders written with save_pretrained: an image classifier with its processor, a diffusers pipeline."""

import itertools
import json
import string

import pytest

from wattprint.models.catalog import get_entry
from wattprint.tasks.base import LoadSettings, NullPhases
from wattprint.tasks.registry import get_task


@pytest.mark.slow
def test_local_image_classifier_uses_its_own_processor(tmp_path):
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    cfg = ViTConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                    image_size=32, patch_size=16, num_labels=3)
    ViTForImageClassification(cfg).save_pretrained(tmp_path)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(tmp_path)
    task = get_task("image-classification")
    loaded = task.load(get_entry(str(tmp_path), task="image-classification"), LoadSettings(weights="pretrained"))
    assert loaded.weights == "pretrained" and loaded.extra["processor"].startswith("own")
    inputs = task.make_inputs(loaded, task.dataset("cifar10"), "synthetic", 2)
    out = task.run_batch(loaded, inputs.items, NullPhases(), {})
    assert out.units == {"inferences": 2} and all(0 <= o < 3 for o in out.outputs)


def _clip_tokenizer(folder):
    from transformers import CLIPTokenizer

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in string.ascii_lowercase:
        vocab[c] = len(vocab)
        vocab[c + "</w>"] = len(vocab)
    merges = []
    for a, b, c in itertools.islice(itertools.product("bdfglmnprst", "aeiou", "bdgmnprst"), 150):
        for piece in (a + b, a + b + c + "</w>"):
            vocab.setdefault(piece, len(vocab))
        merges += [f"{a} {b}", f"{a + b} {c}</w>"]
    folder.mkdir()
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(dict.fromkeys(merges)) + "\n")
    return CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=77)


@pytest.mark.slow
def test_local_diffusers_pipeline_runs_with_its_own_tokenizer(tmp_path):
    import diffusers
    from transformers import CLIPTextConfig, CLIPTextModel

    tok = _clip_tokenizer(tmp_path / "tok")
    unet = diffusers.UNet2DConditionModel(
        block_out_channels=(32, 64), down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), layers_per_block=1, attention_head_dim=8,
        cross_attention_dim=32, norm_num_groups=8, sample_size=8)
    vae = diffusers.AutoencoderKL(block_out_channels=(16, 32), down_block_types=("DownEncoderBlock2D",) * 2,
                                  up_block_types=("UpDecoderBlock2D",) * 2, layers_per_block=1, norm_num_groups=8)
    te = CLIPTextModel(CLIPTextConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=1,
                                      num_attention_heads=2, intermediate_size=64, projection_dim=32))
    pipe = diffusers.StableDiffusionPipeline(unet=unet, vae=vae, text_encoder=te, tokenizer=tok,
                                             scheduler=diffusers.PNDMScheduler(skip_prk_steps=True, steps_offset=1),
                                             safety_checker=None, feature_extractor=None,
                                             requires_safety_checker=False)
    pipe.save_pretrained(tmp_path / "sd")
    task = get_task("image-generation")
    entry = get_entry(str(tmp_path / "sd"), task="image-generation")
    loaded = task.load(entry, LoadSettings(weights="auto", overrides={"size": 32}, params={"num_inference_steps": 2}))
    assert loaded.weights == "pretrained" and loaded.source == f"local:{tmp_path / 'sd'}"
    inputs = task.make_inputs(loaded, task.dataset("parti_prompts"), "synthetic", 2, seed=1)
    assert all(len(tok(p, add_special_tokens=False)["input_ids"]) <= 75 for p in inputs.items)
    phases = []

    class Rec:
        def begin(self, n):
            phases.append(n)

        def end(self, n):
            pass

    out = task.run_batch(loaded, inputs.items, Rec(), {})
    assert phases == ["encode", "denoise", "decode"]
    assert out.units["images"] == 2 and out.outputs[0].size == (32, 32)
