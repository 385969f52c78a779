"""Loading and running Stable Diffusion pipelines (SD 1.x/2.x and SDXL) for the image-generation task.

A pipeline that ships a safety checker (SD 1.x: a CLIP ViT-L/14 image classifier run on every decoded image)
runs it only when the protocol asks (the task parameter ``safety_checker``, set by the ``paper`` preset, as the
study's pipelines ran it), in its own phase ``safety_check``; ``extra["safety_checker"]``
says whether it runs, and the run record carries it.
"""

from __future__ import annotations

from typing import Any

from wattprint.tasks._text import sync
from wattprint.tasks.base import LoadedModel, LoadSettings, Phases

CLIP_POSITIONS = 77


def load_pipeline(entry: Any, settings: LoadSettings) -> LoadedModel:
    import torch

    from wattprint.models.build import count_parameters
    from wattprint.models.loaders import plan_weights, torch_dtype

    plan = plan_weights(entry, settings.weights, settings.cache_dir, marker="model_index.json")
    want_checker = bool(settings.params.get("safety_checker", False))
    if plan.weights == "pretrained":
        import diffusers

        skip = {} if want_checker else {"safety_checker": None, "requires_safety_checker": False}
        pipe = diffusers.DiffusionPipeline.from_pretrained(
            plan.location, dtype=torch_dtype(settings.dtype), cache_dir=settings.cache_dir,
            trust_remote_code=bool(settings.trust_remote_code), **skip)
        tok_desc = "own (pipeline tokenizer)"
    else:
        pipe, tok_desc = _random_pipeline(entry, settings, want_checker)
    # built in float32; cast only when asked (diffusers warns about casting modules it keeps in float32)
    if settings.dtype == "float32":
        pipe = pipe.to(settings.device)
    else:
        pipe = pipe.to(settings.device, torch_dtype(settings.dtype))
    pipe.set_progress_bar_config(disable=True)
    parts = {k: v for k, v in pipe.components.items() if isinstance(v, torch.nn.Module)}
    extra = {"entry": entry.name, "kind": entry.kind, "auto_class": type(pipe).__name__,
             "weights_reason": plan.reason, "processor": tok_desc,
             "defaults": _defaults(entry.config or {}, settings, pipe),
             "scorable": False, "prompt_tokenizer": _prompt_tokenizer(pipe),
             "stand_in_prompts": plan.weights == "random",
             "safety_checker": getattr(pipe, "safety_checker", None) is not None}
    return LoadedModel(pipe, None, settings.device, settings.dtype, plan.weights, count_parameters(parts),
                       plan.source, extra)


def _defaults(cfg: dict[str, Any], settings: LoadSettings, pipe: Any) -> dict[str, int]:
    """Steps and size: the model's own unless the task's params set them (``overrides["size"]`` shrinks the
    model's own size for a config built small)."""
    p = {k: v for k, v in settings.params.items() if v is not None}
    size = int(settings.overrides.get("size", cfg.get("default_size", 8 * pipe.unet.config.sample_size)))
    return {"num_inference_steps": int(p.get("num_inference_steps", cfg.get("default_steps", 50))),
            "height": int(p.get("height", size)), "width": int(p.get("width", size))}


def _random_pipeline(entry: Any, settings: LoadSettings, want_checker: bool = False) -> tuple[Any, str]:
    import diffusers
    import torch

    from wattprint.models.build import build_diffusers
    from wattprint.models.loaders import deep_merge
    from wattprint.models.tokenizer import STAND_IN, StandInTokenizer, base_wordpiece

    cfg = deep_merge(entry.config, settings.overrides.get("config", {}))
    with torch.device(settings.device):  # initialise on the target device (seconds on a GPU for SDXL)
        parts = build_diffusers(cfg, seed=settings.seed)
    base = base_wordpiece()
    for key in ("text_encoder", "text_encoder_2"):
        if key in parts:
            vocab = parts[key].config.vocab_size
            parts["tokenizer" if key == "text_encoder" else "tokenizer_2"] = StandInTokenizer(base, vocab, {})
    cls = getattr(diffusers, cfg.get("_pipeline", "StableDiffusionPipeline"))
    extra = _checker_parts(cfg, settings) if want_checker and "safety_checker" in cfg else {
        "safety_checker": None, "feature_extractor": None, "requires_safety_checker": False}
    if cls.__name__ == "StableDiffusionXLPipeline":
        extra = {}
    pipe = cls(**_only_known(cls, {**parts, **extra}))
    return pipe, STAND_IN


def _checker_parts(cfg: dict[str, Any], settings: LoadSettings) -> dict[str, Any]:
    """The kept safety checker with random weights and CLIP's image processor, as the pipeline takes them."""
    import torch

    from wattprint.models.build import build_safety_checker, safety_checker_processor

    with torch.device(settings.device):
        checker = build_safety_checker(cfg, seed=settings.seed)
    return {"safety_checker": checker, "feature_extractor": safety_checker_processor(),
            "requires_safety_checker": True}


def _only_known(cls: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    import inspect

    names = set(inspect.signature(cls.__init__).parameters)
    return {k: v for k, v in kwargs.items() if k in names}


def _prompt_tokenizer(pipe: Any) -> Any:
    tok = getattr(pipe, "tokenizer", None)
    return getattr(tok, "base", tok)


def _tokens(tok: Any, prompts: list[str], device: str) -> Any:
    enc = tok(prompts, padding="max_length", max_length=CLIP_POSITIONS, truncation=True, return_tensors="pt")
    return enc["input_ids"].to(device)


def encode_prompts(pipe: Any, prompts: list[str], device: str) -> dict[str, Any]:
    """prompt_embeds (+ pooled for SDXL) for prompts and for the empty negative prompt (guidance)."""
    import torch

    out: dict[str, Any] = {}
    for label, texts in (("", prompts), ("negative_", [""] * len(prompts))):
        hidden, pooled = [], None
        for tname, ename in (("tokenizer", "text_encoder"), ("tokenizer_2", "text_encoder_2")):
            enc = getattr(pipe, ename, None)
            if enc is None:
                continue
            res = enc(_tokens(getattr(pipe, tname), texts, device), output_hidden_states=True)
            is_xl = getattr(pipe, "text_encoder_2", None) is not None
            hidden.append(res.hidden_states[-2] if is_xl else res[0])
            if ename == "text_encoder_2":
                pooled = res[0]
        out[f"{label}prompt_embeds"] = torch.cat(hidden, dim=-1)
        if pooled is not None:
            out[f"{label}pooled_prompt_embeds"] = pooled
    return out


def pipeline_encode(pipe: Any, prompts: list[str], device: str) -> dict[str, Any]:
    """The pipeline's own prompt encoding (real tokenizers), with the empty negative prompt for guidance."""
    if getattr(pipe, "text_encoder_2", None) is not None:
        pe, npe, ppe, nppe = pipe.encode_prompt(prompts, device=device, num_images_per_prompt=1,
                                                do_classifier_free_guidance=True)
        return {"prompt_embeds": pe, "negative_prompt_embeds": npe, "pooled_prompt_embeds": ppe,
                "negative_pooled_prompt_embeds": nppe}
    pe, npe = pipe.encode_prompt(prompts, device, 1, True)
    return {"prompt_embeds": pe, "negative_prompt_embeds": npe}


def generate_images(loaded: LoadedModel, prompts: list[str], phases: Phases, p: dict[str, Any]) -> list[Any]:
    """Encode, denoise, decode in one pass; returns PIL images."""
    import torch

    pipe, device = loaded.model, loaded.device
    gen = torch.Generator(device="cpu").manual_seed(int(p.get("seed", 0)))
    with torch.inference_mode():
        phases.begin("encode")
        if loaded.extra["stand_in_prompts"]:
            embeds = encode_prompts(pipe, prompts, device)
        else:
            embeds = pipeline_encode(pipe, prompts, device)
        sync(device)
        phases.end("encode")
        phases.begin("denoise")
        latents = pipe(**embeds, num_inference_steps=int(p["num_inference_steps"]), height=int(p["height"]),
                       width=int(p["width"]), guidance_scale=float(p["guidance_scale"]), output_type="latent",
                       generator=gen).images
        sync(device)
        phases.end("denoise")
        phases.begin("decode")
        vae = pipe.vae
        pixels = vae.decode(latents.to(vae.dtype) / vae.config.scaling_factor, return_dict=False)[0]
        images = pipe.image_processor.postprocess(pixels, output_type="pil")
        sync(device)
        phases.end("decode")
        if loaded.extra.get("safety_checker"):
            images = _safety_check(pipe, pixels, images, phases, device)
    return images


def _safety_check(pipe: Any, pixels: Any, images: list[Any], phases: Phases, device: str) -> list[Any]:
    """The pipeline's own safety checker on the decoded images; a flagged image is replaced by a black one,
    as the pipeline does."""
    from PIL import Image

    phases.begin("safety_check")
    _, flagged = pipe.run_safety_checker(pixels, device, pixels.dtype)
    sync(device)
    phases.end("safety_check")
    return [Image.new("RGB", im.size) if bad else im for im, bad in zip(images, flagged or [False] * len(images))]
