"""Build models from the architecture configurations kept in ``models/configs/`` (random weights, seeded).

A catalog model built here has the published model's shapes and compute, not its knowledge: every record
built this way says ``weights="random"``. The JSON files keep only the fields that define shape and compute;
everything else takes the library's defaults.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

CONFIG_PACKAGE = "wattprint.models.configs"


def read_config(name: str) -> dict[str, Any]:
    """The architecture configuration ``configs/<name>.json`` as a dict (a fresh copy each call)."""
    text = resources.files(CONFIG_PACKAGE).joinpath(f"{name}.json").read_text(encoding="utf-8")
    return json.loads(text)


def config_names() -> list[str]:
    return sorted(
        p.name[: -len(".json")] for p in resources.files(CONFIG_PACKAGE).iterdir() if p.name.endswith(".json")
    )


def is_diffusers(config: dict[str, Any]) -> bool:
    return config.get("_library") == "diffusers"


def transformers_config(config: dict[str, Any]):
    """A ``transformers`` config object from a kept JSON (``model_type`` picks the class)."""
    from transformers import AutoConfig

    cfg = dict(config)
    model_type = cfg.pop("model_type")
    if model_type == "vision-encoder-decoder":
        from transformers import VisionEncoderDecoderConfig

        enc, dec = transformers_config(cfg.pop("encoder")), transformers_config(cfg.pop("decoder"))
        out = VisionEncoderDecoderConfig.from_encoder_decoder_configs(enc, dec)
        for k, v in cfg.items():
            setattr(out, k, v)
        return out
    return AutoConfig.for_model(model_type, **cfg)


def build_transformers(config: dict[str, Any], auto_class: str, *, seed: int = 0, dtype: str = "float32"):
    """Instantiate ``auto_class`` (e.g. "AutoModelForSequenceClassification") from a kept config.

    Weights are random, drawn after ``torch.manual_seed(seed)``. Under ``torch.device("meta")`` this allocates
    nothing (used to count parameters).
    """
    import torch
    import transformers

    if "_not_buildable" in config:
        from wattprint.core.errors import ConfigError

        raise ConfigError(f"this architecture cannot be built here: {config['_not_buildable']}",
                          "run it with --weights pretrained on a transformers version that has it")
    torch.manual_seed(seed)
    cfg = transformers_config(config)
    cls = getattr(transformers, auto_class)
    if auto_class.startswith("Auto"):
        return cls.from_config(cfg, dtype=getattr(torch, dtype)).eval()
    return cls(cfg).to(getattr(torch, dtype)).eval()  # a concrete class (VisionEncoderDecoderModel)


def build_diffusers(config: dict[str, Any], *, seed: int = 0) -> dict[str, Any]:
    """The components of a diffusers pipeline (unet, vae, text encoder(s), scheduler) with random weights.

    A kept ``safety_checker`` is left out: it runs only when a protocol asks (``build_safety_checker``)."""
    import diffusers
    import torch

    torch.manual_seed(seed)
    parts: dict[str, Any] = {}
    for key in ("unet", "vae"):
        c = dict(config[key])
        cls = getattr(diffusers, c.pop("_class_name"))
        parts[key] = cls.from_config(c).eval()
    for key in ("text_encoder", "text_encoder_2"):
        if key in config:
            c = dict(config[key])
            class_name = c.pop("_class_name", "CLIPTextModel")
            parts[key] = _clip_text(c, class_name).eval()
    s = dict(config["scheduler"])
    with torch.device("cpu"):  # schedulers hold small real tensors (sigmas), even under a meta build
        parts["scheduler"] = getattr(diffusers, s.pop("_class_name")).from_config(s)
    return parts


def build_safety_checker(config: dict[str, Any], *, seed: int = 0):
    """The Stable Diffusion 1.x safety checker (a CLIP ViT-L/14 vision tower, a projection and 20 concept
    embeddings) from a pipeline's kept ``safety_checker`` config, with random weights, and its image processor
    (CLIP's 224-pixel crop and normalisation, the processor the released pipelines ship)."""
    import torch
    from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker
    from transformers import CLIPConfig

    c = dict(config["safety_checker"])
    torch.manual_seed(seed)
    cfg = CLIPConfig(vision_config=dict(c["vision_config"]), projection_dim=int(c["projection_dim"]))
    return StableDiffusionSafetyChecker(cfg).eval()


def safety_checker_processor():
    """CLIP's image processor (resize and centre-crop to 224, CLIP mean and std), built offline."""
    from transformers import CLIPImageProcessor

    return CLIPImageProcessor()


def _clip_text(config: dict[str, Any], class_name: str):
    import transformers
    from transformers import CLIPTextConfig

    cfg = dict(config)
    cfg.pop("model_type", None)
    return getattr(transformers, class_name)(CLIPTextConfig(**cfg))


def count_parameters(module: Any) -> int:
    """Parameters of a torch module (or a dict of modules), each tensor counted once (tied weights once)."""
    mods = module.values() if isinstance(module, dict) else [module]
    seen: set[int] = set()
    total = 0
    for m in mods:
        if not hasattr(m, "parameters"):
            continue
        for p in m.parameters():
            if id(p) not in seen:
                seen.add(id(p))
                total += p.numel()
    return total


def count_parameters_with_copies(module: Any) -> int:
    """Parameters counting a tied tensor once per place it is used (as a checkpoint storing each copy does)."""
    mods = module.values() if isinstance(module, dict) else [module]
    return sum(p.numel() for m in mods if hasattr(m, "named_parameters")
               for _, p in m.named_parameters(remove_duplicate=False))


def meta_parameter_counts(config: dict[str, Any], auto_class: str | None) -> tuple[int, int]:
    """(unique, with tied copies) parameters of the architecture, built on the meta device: no memory, no
    weights, a fraction of a second per model."""
    import torch

    with torch.device("meta"):
        if is_diffusers(config):
            built = build_diffusers(config)
        else:
            built = build_transformers(config, auto_class or "AutoModel")
    return count_parameters(built), count_parameters_with_copies(built)
