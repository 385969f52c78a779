"""Text classification: one label per text (sentiment on IMDB, Rotten Tomatoes, SST-2).

Task-specific models run a sequence-classification head. General-purpose models (Flan-T5, BLOOMZ) are asked
zero-shot ("... Is the sentiment positive or negative?") and generate a short answer, with prefill and
decode phases.
"""

from __future__ import annotations

from typing import Any

from wattprint.tasks import _generate, _text
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
    datasets = specs("imdb", "rotten_tomatoes", "sst2")
    head_class = "AutoModelForSequenceClassification"

    param_specs = (
        count("max_new_tokens", 3, "general-purpose models only: new tokens for the answer word"),
        choice("prompt", "own", ("own", "study"), "general-purpose models: wattprint's prompt or the study's"),
        count("decoder_max_new_tokens", None, "decoder-only models' new tokens (the study gave BLOOMZ 1); "
              "none: max_new_tokens", optional=True),
    )

    def make_inputs(self, loaded: LoadedModel, dataset: DatasetSpec, workload: str, n: int, seed: int = 0) -> Inputs:
        if _text.choose_workload(workload) == "dataset":
            names = dataset.stats.get("label_names")
            t, lab = dataset.fields["text"], dataset.fields["label"]
            return _text.dataset_inputs(dataset, n, seed, lambda r: (r[t], names[r[lab]] if names else r[lab]))
        texts, desc, stats = _text.synthetic_texts(loaded, dataset, n, seed, cap=_text.text_limit(loaded) - 2)
        return Inputs(texts, None, dataset.name, "synthetic", desc, stats)

    separable_preprocess = True

    def prepare(self, loaded: LoadedModel, batch: list[Any], params: dict[str, Any]) -> Any:
        if loaded.extra.get("zero_shot"):
            p = {**self.default_params(), **params}
            template = STUDY_PROMPT if p["prompt"] == "study" else PROMPT
            prompts = [template.format(text=t) for t in batch]
            return _generate.tokenize_prompts(loaded, prompts, _new_tokens(loaded, p))
        return _text.tokenize(loaded, batch)

    def run_prepared(self, loaded: LoadedModel, prepared: Any, phases: Phases, params: dict[str, Any]) -> BatchResult:
        if loaded.extra.get("zero_shot"):
            p = {**self.default_params(), **params}
            outputs, units = _generate.generate_tokenized(loaded, prepared, phases, _new_tokens(loaded, p))
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

    def score(self, outputs: list[Any], references: list[Any]) -> dict[str, float] | None:
        from wattprint.tasks.metrics import accuracy, normalize_sentiment

        if not references:
            return None
        return {"accuracy": accuracy([normalize_sentiment(o) for o in outputs],
                                     [normalize_sentiment(r) for r in references])}


def _new_tokens(loaded: LoadedModel, p: dict[str, Any]) -> int:
    """max_new_tokens, or decoder_max_new_tokens for a decoder-only model where that is set."""
    decoder_only = not getattr(loaded.model.config, "is_encoder_decoder", False)
    if decoder_only and p.get("decoder_max_new_tokens") is not None:
        return int(p["decoder_max_new_tokens"])
    return int(p["max_new_tokens"])
