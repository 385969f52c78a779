"""Image generation (text-to-image; DiffusionDB, PartiPrompts, COCO captions, ImageRewardDB and
Stable-Diffusion-Prompts as prompts) with a diffusers pipeline, in three phases of one pass: "encode" (text
encoders), "denoise" (the UNet loop with classifier-free guidance) and "decode" (the VAE turns latents into
pixels); a fourth, "safety_check", where the pipeline ships a safety checker and the protocol runs it.

Offline, a catalog pipeline is built from its kept configs (UNet, VAE, CLIP text encoder(s), scheduler) with
random weights; prompts are tokenized by the stand-in tokenizer (ids folded into CLIP's 49,408) padded to
CLIP's 77 positions. Steps and size default to the model's own (``default_steps``, ``default_size``);
the task's params may shrink them (num_inference_steps, height, width) for a CPU, and the record says so.
"""

from __future__ import annotations

from typing import Any

from wattprint.tasks import _diffusion, _text
from wattprint.tasks.base import BatchResult, DatasetSpec, Inputs, LoadedModel, LoadSettings, Phases, Task
from wattprint.tasks.params import Param, count, flag
from wattprint.workloads.specs import specs


class ImageGeneration(Task):
    name = "image-generation"
    version = "1"
    title = "Image generation (text-to-image)"
    modality = "text-to-image"
    generative = True
    unit = "image"
    datasets = specs("diffusiondb", "parti_prompts", "coco_prompts", "imagereward", "sd_prompts")

    # steps and size: the model's own (``default_steps``, ``default_size``) unless set; the study kept the first
    # 50 words of each prompt (sashavor/co2_inference, code/tti/tti_*.py)
    param_specs = (
        Param("guidance_scale", "float", 7.5, "classifier-free guidance scale", minimum=0.0),
        count("prompt_words", None, "keep only the first N words of each prompt (the study kept 50); none: all",
              optional=True),
        count("num_inference_steps", None, "denoising steps; none: the model's default", optional=True, load=True),
        count("height", None, "image height in pixels; none: the model's default size", optional=True, load=True),
        count("width", None, "image width in pixels; none: the model's default size", optional=True, load=True),
        flag("safety_checker", False, "run the pipeline's safety checker where it ships one (SD 1.x)", load=True),
    )

    def model_class(self, entry: Any) -> str:
        return "DiffusionPipeline"

    def load(self, entry: Any, settings: LoadSettings) -> LoadedModel:
        return _diffusion.load_pipeline(entry, settings)

    def make_inputs(self, loaded: LoadedModel, dataset: DatasetSpec, workload: str, n: int, seed: int = 0) -> Inputs:
        if _text.choose_workload(workload) == "dataset":
            col = dataset.fields["prompt"]
            return _text.dataset_inputs(dataset, n, seed, lambda r: (_first(r[col]), None))
        from wattprint.workloads import synthetic

        tok = loaded.extra["prompt_tokenizer"]
        dist = synthetic.length_dist(dataset.stats, "tokens", cap=75)
        prompts, lengths = synthetic.texts(tok, dist, n, seed)
        desc = (f"synthetic: {n} prompts of real words, {dist.describe('tokens')} ({dataset.name} statistics: "
                f"{dataset.source}); tokenizer {loaded.extra['processor']}; seed {seed}")
        return Inputs(prompts, None, dataset.name, "synthetic", desc,
                      {"tokens": synthetic.summarize([float(x) for x in lengths])})

    def run_batch(self, loaded: LoadedModel, batch: list[Any], phases: Phases, params: dict[str, Any]) -> BatchResult:
        p = {**self.default_params(), **loaded.extra["defaults"], **params}
        words = p.pop("prompt_words", None)
        prompts = [" ".join(str(t).split()[: int(words)]) for t in batch] if words else list(batch)
        images = _diffusion.generate_images(loaded, prompts, phases, p)
        units = {"inferences": len(batch), "images": len(images),
                 "denoising_steps": int(p["num_inference_steps"]) * len(batch)}
        return BatchResult(images, units)


def _first(v: Any) -> str:
    return v[0] if isinstance(v, (list, tuple)) else str(v)
