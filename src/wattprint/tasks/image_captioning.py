"""Image captioning (image-to-text; COCO Karpathy test, Flickr30k, nocaps): a caption per image via
``generate`` (transformers 5 has no image-to-text pipeline), with prefill (image encoding and the first
token) and decode phases. Generated tokens are the decoding steps taken; with min_new_tokens equal to
max_new_tokens every caption has exactly that many. ROUGE-L against the first reference where weights are
real (CIDEr would need the COCO caption toolkit).
"""

from __future__ import annotations

from typing import Any

from wattprint.tasks import _generate, _text, _vision
from wattprint.tasks.base import BatchResult, DatasetSpec, Inputs, LoadedModel, LoadSettings, Phases, Task
from wattprint.tasks.params import count
from wattprint.workloads.specs import specs


class ImageCaptioning(Task):
    name = "image-captioning"
    version = "1"
    title = "Image captioning"
    modality = "image-to-text"
    generative = True
    unit = "caption"
    datasets = specs("coco_captions", "flickr30k", "nocaps", "coco", "redcaps", "visual_genome")

    param_specs = (
        count("max_new_tokens", 20, "new tokens per caption at most"),
        count("min_new_tokens", None, "new tokens per caption at least; none: stop at EOS", optional=True,
              at_most="max_new_tokens"),
    )

    def model_class(self, entry: Any) -> str:
        cfg = entry.config or {}
        if cfg.get("model_type") == "vision-encoder-decoder":
            return "VisionEncoderDecoderModel"
        return "AutoModelForImageTextToText"

    def load(self, entry: Any, settings: LoadSettings) -> LoadedModel:
        from wattprint.models.tokenizer import load_tokenizer

        loaded = _vision.load_vision_model(entry, settings, self.model_class(entry), processor="processor")
        if getattr(loaded.processor, "tokenizer", None) is None:
            decoder = getattr(loaded.model, "decoder", None) or getattr(loaded.model, "text_decoder", None)
            tok, desc = load_tokenizer(None if loaded.weights == "random" else entry.local_path or entry.hub_id,
                                       entry.hub_id, decoder or loaded.model, settings)
            loaded.extra["tokenizer"] = tok
            loaded.extra["processor"] += f"; tokenizer {desc}"
        else:
            loaded.extra["tokenizer"] = loaded.processor.tokenizer
        return loaded

    def make_inputs(self, loaded: LoadedModel, dataset: DatasetSpec, workload: str, n: int, seed: int = 0) -> Inputs:
        if _text.choose_workload(workload) == "dataset":
            return _text.dataset_inputs(dataset, n, seed, lambda r: _row(dataset, r))
        return _vision.make_image_inputs(loaded, dataset, workload, n, seed, reference=None)

    separable_preprocess = True

    def prepare(self, loaded: LoadedModel, batch: list[Any], params: dict[str, Any]) -> Any:
        return _vision.process_images(loaded, batch)

    def run_prepared(self, loaded: LoadedModel, prepared: Any, phases: Phases, params: dict[str, Any]) -> BatchResult:
        p = {**self.default_params(), **params}
        hi = int(p["max_new_tokens"])
        lo = p.get("min_new_tokens")
        pv = _vision.to_device(loaded, prepared)
        out, steps = _generate.generate(loaded, {"pixel_values": pv}, phases, max_new_tokens=hi,
                                        min_new_tokens=int(lo) if lo else None)
        gen = out[:, out.shape[1] - steps:] if steps else out[:, :0]
        tok = loaded.extra["tokenizer"]
        eos = loaded.model.generation_config.eos_token_id
        eos = eos[0] if isinstance(eos, list) else eos
        units = {"inferences": int(pv.shape[0]),
                 "generated_tokens": _generate.count_generated(gen, eos, exact=lo is not None and int(lo) == hi)}
        return BatchResult([s.strip() for s in tok.batch_decode(gen, skip_special_tokens=True)], units)

    def run_batch(self, loaded: LoadedModel, batch: list[Any], phases: Phases, params: dict[str, Any]) -> BatchResult:
        return self.run_prepared(loaded, self.prepare(loaded, batch, params), phases, params)

    def score(self, outputs: list[Any], references: list[Any]) -> dict[str, float] | None:
        from wattprint.tasks.metrics import rouge

        if not references:
            return None
        return {"rougeL": rouge(outputs, [r[0] if isinstance(r, list) else r for r in references])["rougeL"]}


def _row(spec: DatasetSpec, r: dict[str, Any]) -> tuple[Any, Any]:
    f = spec.fields
    if "image" in f:
        img = r[f["image"]].convert("RGB")
    else:  # COCO Karpathy rows hold image URLs
        import io
        import urllib.request

        from PIL import Image

        with urllib.request.urlopen(r[f["image_url"]], timeout=30) as resp:
            img = Image.open(io.BytesIO(resp.read())).convert("RGB")
    if "captions" not in f:  # images without captions (Visual Genome, COCO detection): nothing to score
        return img, None
    caps = r[f["captions"]]
    return img, list(caps) if isinstance(caps, (list, tuple)) else [str(caps)]
