"""Object detection (COCO, Pascal VOC 2007, LVIS images): boxes with labels and scores above a threshold.

Images are resized as the model does (shortest edge 800, longest 1333 for DETR-style models; YOLOS-tiny 512)
by the model's own processor, or a stand-in of the same family and sizes built offline
(``overrides["image_size"]`` shrinks the shortest edge for CPU runs and is recorded). No quality score (mAP
needs the full COCO evaluation).
"""

from __future__ import annotations

from typing import Any

from wattprint.tasks import _pipeline, _text, _vision
from wattprint.tasks.base import BatchResult, DatasetSpec, Inputs, LoadedModel, LoadSettings, Phases, Task
from wattprint.tasks.params import Param
from wattprint.workloads.specs import specs

PROCESSORS = {"detr": "DetrImageProcessor", "deformable_detr": "DeformableDetrImageProcessor",
              "yolos": "YolosImageProcessor", "conditional_detr": "ConditionalDetrImageProcessor"}
FAMILY_SHORTEST_EDGE, LONGEST_EDGE = 800, 1333  # DETR-style processors' resize
# A model's own shortest edge where it is not the family's (the longest edge is the same):
# hustvl/yolos-tiny's preprocessor_config.json, size {"shortest_edge": 512, "longest_edge": 1333}
OWN_SHORTEST_EDGE = {"hustvl/yolos-tiny": 512}


class ObjectDetection(Task):
    name = "object-detection"
    version = "1"
    title = "Object detection"
    modality = "image"
    datasets = specs("coco", "voc2007", "lvis", "cppe5", "visual_genome")

    param_specs = (Param("threshold", "float", 0.5, "lowest score of a detection kept", minimum=0.0),
                   _vision.RESIZE)

    def model_class(self, entry: Any) -> str:
        return "AutoModelForObjectDetection"

    def load(self, entry: Any, settings: LoadSettings) -> LoadedModel:
        from wattprint.models.loaders import load_transformers

        ml = load_transformers(entry, settings, self.model_class(entry))
        if ml.plan.location is not None:
            from transformers import AutoImageProcessor

            proc, desc = AutoImageProcessor.from_pretrained(ml.plan.location), f"own ({ml.plan.location})"
        else:
            proc, desc = _stand_in(ml.model.config, settings, entry.hub_id)
        return LoadedModel(ml.model, proc, settings.device, settings.dtype, ml.plan.weights, ml.parameters,
                           ml.plan.source, _text.base_extra(entry, ml, self.model_class(entry), desc))

    def make_inputs(self, loaded: LoadedModel, dataset: DatasetSpec, workload: str, n: int, seed: int = 0) -> Inputs:
        return _vision.make_image_inputs(loaded, dataset, workload, n, seed, reference=None)

    separable_preprocess = True

    def prepare(self, loaded: LoadedModel, batch: list[Any], params: dict[str, Any]) -> Any:
        enc = loaded.processor(images=batch, return_tensors="pt")
        return enc, [(im.height, im.width) for im in batch]

    def run_prepared(self, loaded: LoadedModel, prepared: Any, phases: Phases, params: dict[str, Any]) -> BatchResult:
        import torch

        p = {**self.default_params(), **params}
        enc, sizes = prepared
        pv = enc["pixel_values"].to(loaded.device, dtype=getattr(torch, loaded.dtype))
        extra = {"pixel_mask": enc["pixel_mask"].to(loaded.device)} if "pixel_mask" in enc else {}
        with torch.inference_mode():
            out = loaded.model(pixel_values=pv, **extra)
        out.logits, out.pred_boxes = out.logits.float().cpu(), out.pred_boxes.float().cpu()
        found = loaded.processor.post_process_object_detection(out, threshold=float(p["threshold"]),
                                                               target_sizes=torch.tensor(sizes))
        labels = loaded.model.config.id2label
        outputs = [[{"label": labels.get(int(lab), str(int(lab))), "score": round(float(s), 4),
                     "box": [round(float(x), 1) for x in box]}
                    for s, lab, box in zip(f["scores"], f["labels"], f["boxes"])] for f in found]
        return BatchResult(outputs, {"inferences": len(sizes), "detections": sum(len(o) for o in outputs)})

    def pipeline_task(self, loaded: LoadedModel) -> tuple[str | None, str]:
        return "object-detection", ""

    def pipeline_parts(self, loaded: LoadedModel) -> dict[str, Any]:
        return _pipeline.image_parts(loaded)

    def run_pipeline(self, loaded: LoadedModel, pipe: Any, batch: list[Any], phases: Phases,
                     params: dict[str, Any]) -> BatchResult:
        p = {**self.default_params(), **params}
        # the pipeline stacks images without padding them: images of different sizes go through one at a time
        same = len({im.size for im in batch}) == 1
        found = _pipeline.call(pipe, list(batch), batch_size=None if same else 1, threshold=float(p["threshold"]))
        outputs = [[{"label": d["label"], "score": round(float(d["score"]), 4),
                     "box": [round(float(d["box"][k]), 1) for k in ("xmin", "ymin", "xmax", "ymax")]}
                    for d in f] for f in found]
        return BatchResult(outputs, {"inferences": len(batch), "detections": sum(len(o) for o in outputs)})

    def run_batch(self, loaded: LoadedModel, batch: list[Any], phases: Phases, params: dict[str, Any]) -> BatchResult:
        return self.run_prepared(loaded, self.prepare(loaded, batch, params), phases, params)


def _stand_in(config: Any, settings: LoadSettings, hub_id: str) -> tuple[Any, str]:
    """The family's processor at the model's own sizes; ``overrides["image_size"]`` scales both edges down."""
    import transformers

    name = PROCESSORS.get(getattr(config, "model_type", ""), "DetrImageProcessor")
    if "image_size" in settings.overrides:
        short = int(settings.overrides["image_size"])
        size = {"shortest_edge": short, "longest_edge": int(round(short * LONGEST_EDGE / FAMILY_SHORTEST_EDGE))}
    else:
        size = {"shortest_edge": OWN_SHORTEST_EDGE.get(hub_id, FAMILY_SHORTEST_EDGE), "longest_edge": LONGEST_EDGE}
    proc = getattr(transformers, name)(size=size)
    return proc, f"stand-in {name} (shortest edge {size['shortest_edge']}, longest {size['longest_edge']})"
