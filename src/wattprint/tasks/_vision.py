"""Shared parts of the image tasks: loading a model with its image processor (its own when the files are at
hand, else a stated stand-in built from the architecture's input size), and synthetic or dataset images."""

from __future__ import annotations

from typing import Any

from wattprint.tasks import _text
from wattprint.tasks.base import DatasetSpec, Inputs, LoadedModel, LoadSettings
from wattprint.tasks.params import Param

# the image tasks' resize parameter (the study resized every image to 640x480 before its pipeline calls)
RESIZE = Param("resize", "size", None, "every input image resized to [width, height] before the measured calls "
               "(the study: [640, 480]); none: the dataset's own sizes", optional=True)

# ImageNet channel statistics (the torchvision / timm constants used by ResNet, ViT, ConvNeXt processors)
IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def load_vision_model(entry: Any, settings: LoadSettings, auto_class: str, processor: str = "image") -> LoadedModel:
    """The model plus an image processor ("image") or a full processor with tokenizer ("processor")."""
    from wattprint.models.loaders import load_transformers

    ml = load_transformers(entry, settings, auto_class)
    if ml.plan.location is not None:
        proc, desc = _own_processor(ml.plan.location, processor, settings), f"own ({ml.plan.location})"
    else:
        proc, desc = stand_in_processor(ml.model.config, settings), "stand-in image processor (resize + normalize)"
    return LoadedModel(ml.model, proc, settings.device, settings.dtype, ml.plan.weights, ml.parameters,
                       ml.plan.source, _text.base_extra(entry, ml, auto_class, desc))


def _own_processor(location: str, kind: str, settings: LoadSettings):
    from transformers import AutoImageProcessor, AutoProcessor

    cls = AutoProcessor if kind == "processor" else AutoImageProcessor
    return cls.from_pretrained(location, trust_remote_code=bool(settings.trust_remote_code),
                               cache_dir=settings.cache_dir)


def input_size(config: Any, settings: LoadSettings, default: int = 224) -> int:
    """The square input size of a classifier/encoder: overrides["image_size"], else the config's, else 224."""
    if "image_size" in settings.overrides:
        return int(settings.overrides["image_size"])
    for cfg in (config, getattr(config, "vision_config", None), getattr(config, "encoder", None)):
        size = getattr(cfg, "image_size", None) if cfg is not None else None
        if isinstance(size, int):
            return size
    return default


def stand_in_processor(config: Any, settings: LoadSettings):
    """A square resize + ImageNet normalisation at the model's input size (a ViTImageProcessor)."""
    from transformers import ViTImageProcessor

    s = input_size(config, settings)
    return ViTImageProcessor(size={"height": s, "width": s}, image_mean=IMAGENET_MEAN, image_std=IMAGENET_STD)


def make_image_inputs(loaded: LoadedModel, dataset: DatasetSpec, workload: str, n: int, seed: int,
                      reference: str | None = "label") -> Inputs:
    """Images from the hub dataset (with the ``reference`` field) or synthetic ones of the dataset's sizes,
    resized to the ``resize`` task param [width, height] where one is given."""
    return resized(loaded, _image_inputs(loaded, dataset, workload, n, seed, reference))


def resized(loaded: LoadedModel, inputs: Inputs) -> Inputs:
    """``inputs`` with each image resized to the ``resize`` task param [width, height]; as they are without it."""
    size = (getattr(loaded, "extra", None) or {}).get("task_params", {}).get("resize")
    if not size:
        return inputs
    w, h = int(size[0]), int(size[1])
    # nearest-neighbour, as the study resized (PIL resample=0)
    items = [im.resize((w, h), resample=0).convert("RGB") for im in inputs.items]
    return Inputs(items, inputs.references, inputs.dataset, inputs.workload,
                  inputs.description + f"; each image resized to {w}x{h} (nearest neighbour)", inputs.stats)


def _image_inputs(loaded: LoadedModel, dataset: DatasetSpec, workload: str, n: int, seed: int,
                  reference: str | None) -> Inputs:
    from wattprint.workloads import synthetic

    if _text.choose_workload(workload) == "dataset":
        img = dataset.fields["image"]
        ref = dataset.fields.get(reference) if reference else None
        return _text.dataset_inputs(dataset, n, seed, lambda r: (r[img].convert("RGB"), r[ref] if ref else None))
    imgs, desc = synthetic.images(dataset.stats, n, seed)
    desc = f"synthetic: {desc} ({dataset.name} statistics: {dataset.source})"
    stats = {"width": synthetic.summarize([float(i.width) for i in imgs]),
             "height": synthetic.summarize([float(i.height) for i in imgs])}
    return Inputs(imgs, None, dataset.name, "synthetic", desc, stats)


def process_images(loaded: LoadedModel, images: list[Any]) -> Any:
    """The image processor's pixel values for ``images``, on the CPU: the preprocessing step."""
    proc = loaded.processor
    proc = getattr(proc, "image_processor", proc)
    return proc(images=images, return_tensors="pt")["pixel_values"]


def to_device(loaded: LoadedModel, pixels: Any) -> Any:
    import torch

    return pixels.to(loaded.device, dtype=getattr(torch, loaded.dtype))


def pixel_values(loaded: LoadedModel, images: list[Any]) -> Any:
    return to_device(loaded, process_images(loaded, images))
