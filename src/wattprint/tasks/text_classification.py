"""Text classification: one label per text (sentiment on IMDB, Rotten Tomatoes, SST-2).

Task-specific models run a sequence-classification head. General-purpose models (Flan-T5, BLOOMZ) are asked
zero-shot ("... Is the sentiment positive or negative?") and generate a short answer, with prefill and
decode phases.
"""

from __future__ import annotations

from typing import Any

from wattprint.tasks import _generate, _pipeline, _text
from wattprint.tasks.base import BatchResult, DatasetSpec, Inputs, LoadedModel, Phases, Task
from wattprint.tasks.params import choice, count
from wattprint.workloads.specs import specs

PROMPT = "{text}\nIs the sentiment of this text positive or negative?"
# the study's zero-shot prompt for Flan-T5 and BLOOMZ (sashavor/co2_inference, code/zeroshot/zeroshot_sentiment_*.py)
STUDY_PROMPT = "what is the binary sentiment of the following sentence? {text}"


class TextClassification(_text.ZeroShotText, Task):
    name = "text-classification"
    version = "1"
    title = "Text classification"
    modality = "text"
    datasets = specs("imdb", "rotten_tomatoes", "sst2", "aienergyscore_text_classification")
    head_class = "AutoModelForSequenceClassification"

    # general-purpose models: the answer's length per model kind and dataset as _generate.zero_shot_length reads it
    param_specs = (
        count("max_new_tokens", 3, "general-purpose models only: new tokens for the answer word"),
        choice("prompt", "own", ("own", "study"), "general-purpose models: wattprint's prompt or the study's"),
        *_generate.ZERO_SHOT_SPECS,
    )

    def make_inputs(self, loaded: LoadedModel, dataset: DatasetSpec, workload: str, n: int, seed: int = 0) -> Inputs:
        loaded.extra["dataset"] = dataset.name  # a param may differ by dataset (_generate.for_dataset)
        if _text.choose_workload(workload) == "dataset":
            names = dataset.stats.get("label_names")
            t, lab = dataset.fields["text"], dataset.fields.get("label")  # a mix of sources has no labels
            return _text.dataset_inputs(dataset, n, seed, lambda r: (r[t], None if lab is None else
                                                                     names[r[lab]] if names else r[lab]))
        texts, desc, stats = _text.synthetic_texts(loaded, dataset, n, seed, cap=_text.text_limit(loaded) - 2)
        return Inputs(texts, None, dataset.name, "synthetic", desc, stats)

    separable_preprocess = True

    def prepare(self, loaded: LoadedModel, batch: list[Any], params: dict[str, Any]) -> Any:
        if loaded.extra.get("zero_shot"):
            p = {**self.default_params(), **params}
            template = STUDY_PROMPT if p["prompt"] == "study" else PROMPT
            prompts = [template.format(text=t) for t in batch]
            return _generate.tokenize_prompts(loaded, prompts, _generate.zero_shot_length(loaded, p)[0])
        return _text.tokenize(loaded, batch)

    def run_prepared(self, loaded: LoadedModel, prepared: Any, phases: Phases, params: dict[str, Any]) -> BatchResult:
        if loaded.extra.get("zero_shot"):
            p = {**self.default_params(), **params}
            outputs, units = _generate.generate_tokenized(loaded, prepared, phases,
                                                          *_generate.zero_shot_length(loaded, p))
            return _text.generated_result(loaded, outputs, units)
        import torch

        enc = prepared.to(loaded.device)
        with torch.inference_mode():
            logits = loaded.model(**enc).logits
        labels = loaded.model.config.id2label
        outputs = [labels.get(i, str(i)) for i in logits.argmax(-1).tolist()]
        return _text.encoder_result(loaded, outputs, enc)

    def run_batch(self, loaded: LoadedModel, batch: list[Any], phases: Phases, params: dict[str, Any]) -> BatchResult:
        return self.run_prepared(loaded, self.prepare(loaded, batch, params), phases, params)

    def pipeline_task(self, loaded: LoadedModel) -> tuple[str | None, str]:
        if loaded.extra.get("zero_shot"):
            return _pipeline.generation_task(loaded)
        return "text-classification", ""

    def run_pipeline(self, loaded: LoadedModel, pipe: Any, batch: list[Any], phases: Phases,
                     params: dict[str, Any]) -> BatchResult:
        if loaded.extra.get("zero_shot"):
            p = {**self.default_params(), **params}
            template = STUDY_PROMPT if p["prompt"] == "study" else PROMPT
            return _pipeline.generate_texts(loaded, pipe, [template.format(text=t) for t in batch], phases,
                                            *_generate.zero_shot_length(loaded, p))
        out = _pipeline.call(pipe, list(batch), truncation=True, max_length=_text.text_limit(loaded))
        return _pipeline.encoder_result(loaded, pipe, [(r[0] if isinstance(r, list) else r)["label"] for r in out])

    def score(self, outputs: list[Any], references: list[Any]) -> dict[str, float] | None:
        from wattprint.tasks.metrics import accuracy, normalize_sentiment

        if not references:
            return None
        return {"accuracy": accuracy([normalize_sentiment(o) for o in outputs],
                                     [normalize_sentiment(r) for r in references])}

