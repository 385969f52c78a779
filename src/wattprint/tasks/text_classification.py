"""Text classification: one label per text (sentiment on IMDB, Rotten Tomatoes, SST-2).

Task-specific models run a sequence-classification head. General-purpose models (Flan-T5, BLOOMZ) are asked
zero-shot ("... Is the sentiment positive or negative?") and generate a short answer, with prefill and
decode phases.
"""

from __future__ import annotations

from typing import Any

from wattprint.tasks import _generate, _text
from wattprint.tasks.base import BatchResult, DatasetSpec, Inputs, LoadedModel, LoadSettings, Phases, Task
from wattprint.tasks.flops import analytic
from wattprint.workloads.specs import specs

PROMPT = "{text}\nIs the sentiment of this text positive or negative?"


class TextClassification(Task):
    name = "text-classification"
    version = "1"
    title = "Text classification"
    modality = "text"
    datasets = specs("imdb", "rotten_tomatoes", "sst2")

    def default_params(self) -> dict[str, Any]:
        return {"max_new_tokens": 3}  # general-purpose models only: the answer word

    def model_class(self, entry: Any) -> str:
        if entry.kind == "general-purpose":
            return _generate.lm_class(entry)
        return "AutoModelForSequenceClassification"

    def load(self, entry: Any, settings: LoadSettings) -> LoadedModel:
        loaded = _text.load_text_model(entry, settings, self.model_class(entry))
        loaded.extra["zero_shot"] = entry.kind == "general-purpose"
        return loaded

    def make_inputs(self, loaded: LoadedModel, dataset: DatasetSpec, workload: str, n: int, seed: int = 0) -> Inputs:
        if _text.choose_workload(workload) == "dataset":
            names = dataset.stats.get("label_names")
            t, lab = dataset.fields["text"], dataset.fields["label"]
            return _text.dataset_inputs(dataset, n, seed, lambda r: (r[t], names[r[lab]] if names else r[lab]))
        texts, desc, stats = _text.synthetic_texts(loaded, dataset, n, seed, cap=_text.text_limit(loaded) - 2)
        return Inputs(texts, None, dataset.name, "synthetic", desc, stats)

    def run_batch(self, loaded: LoadedModel, batch: list[Any], phases: Phases, params: dict[str, Any]) -> BatchResult:
        if loaded.extra.get("zero_shot"):
            p = {**self.default_params(), **params}
            prompts = [PROMPT.format(text=t) for t in batch]
            outputs, units = _generate.prompt_and_generate(loaded, prompts, phases, int(p["max_new_tokens"]))
            flops, how = analytic(loaded.parameters, units["input_tokens"] + units["generated_tokens"])
            return BatchResult(outputs, units, flops, how)
        import torch

        enc = _text.encode(loaded, batch)
        with torch.inference_mode():
            logits = loaded.model(**enc).logits
        labels = loaded.model.config.id2label
        outputs = [labels.get(i, str(i)) for i in logits.argmax(-1).tolist()]
        tokens = _text.token_count(enc)
        flops, how = analytic(loaded.parameters, tokens)
        return BatchResult(outputs, {"inferences": len(batch), "input_tokens": tokens}, flops, how)

    def score(self, outputs: list[Any], references: list[Any]) -> dict[str, float] | None:
        from wattprint.tasks.metrics import accuracy, normalize_sentiment

        if not references:
            return None
        return {"accuracy": accuracy([normalize_sentiment(o) for o in outputs],
                                     [normalize_sentiment(r) for r in references])}
