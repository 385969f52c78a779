"""Image classification (ImageNet-1k, CIFAR-10, CIFAR-100): one label per image.

Top-1 accuracy is scored only on ImageNet-1k with an ImageNet-1k head (CIFAR labels are another label space;
a model fine-tuned on CIFAR would need its own entry). FLOPs: counted (``Task.count_flops``), no analytic rule.
"""

from __future__ import annotations

from typing import Any

from wattprint.tasks import _pipeline, _vision
from wattprint.tasks.base import BatchResult, DatasetSpec, Inputs, LoadedModel, LoadSettings, Phases, Task
from wattprint.workloads.specs import specs


class ImageClassification(Task):
    name = "image-classification"
    version = "1"
    title = "Image classification"
    modality = "image"
    datasets = specs("imagenet-1k", "cifar10", "cifar100")

    param_specs = (_vision.RESIZE,)

    def model_class(self, entry: Any) -> str:
        return "AutoModelForImageClassification"

    def load(self, entry: Any, settings: LoadSettings) -> LoadedModel:
        return _vision.load_vision_model(entry, settings, self.model_class(entry))

    def make_inputs(self, loaded: LoadedModel, dataset: DatasetSpec, workload: str, n: int, seed: int = 0) -> Inputs:
        inputs = _vision.make_image_inputs(loaded, dataset, workload, n, seed, "label")
        if inputs.references is not None and dataset.stats.get("label_space") == "imagenet-1k":
            offset = 1 if loaded.model.config.num_labels == 1001 else 0  # MobileNet's class 0 is "background"
            refs = [r + offset for r in inputs.references]
            return Inputs(inputs.items, refs, inputs.dataset, inputs.workload, inputs.description, inputs.stats)
        return Inputs(inputs.items, None, inputs.dataset, inputs.workload, inputs.description, inputs.stats)

    separable_preprocess = True

    def prepare(self, loaded: LoadedModel, batch: list[Any], params: dict[str, Any]) -> Any:
        return _vision.process_images(loaded, batch)

    def run_prepared(self, loaded: LoadedModel, prepared: Any, phases: Phases, params: dict[str, Any]) -> BatchResult:
        import torch

        pv = _vision.to_device(loaded, prepared)
        with torch.inference_mode():
            logits = loaded.model(pixel_values=pv).logits
        return BatchResult(logits.argmax(-1).tolist(), {"inferences": int(pv.shape[0])})

    def run_batch(self, loaded: LoadedModel, batch: list[Any], phases: Phases, params: dict[str, Any]) -> BatchResult:
        return self.run_prepared(loaded, self.prepare(loaded, batch, params), phases, params)

    def pipeline_task(self, loaded: LoadedModel) -> tuple[str | None, str]:
        return "image-classification", ""

    def pipeline_parts(self, loaded: LoadedModel) -> dict[str, Any]:
        return _pipeline.image_parts(loaded)

    def run_pipeline(self, loaded: LoadedModel, pipe: Any, batch: list[Any], phases: Phases,
                     params: dict[str, Any]) -> BatchResult:
        ids = {v: int(k) for k, v in loaded.model.config.id2label.items()}  # outputs are class indices, as direct
        out = _pipeline.call(pipe, list(batch), top_k=1)
        return BatchResult([ids[(r[0] if isinstance(r, list) else r)["label"]] for r in out],
                           {"inferences": len(batch)})

    def score(self, outputs: list[Any], references: list[Any]) -> dict[str, float] | None:
        from wattprint.tasks.metrics import accuracy

        return {"top1_accuracy": accuracy(outputs, references)} if references else None
