"""Text generation: continue a prompt by exactly ``max_new_tokens`` tokens (10 in the paper protocol).

Prompts come from WikiText, BookCorpus and OSCAR (or synthetic texts matched to their length statistics).
Prefill (the prompt's forward pass and first token) and decode (every later token) are separate phases of a
single ``generate`` call.
"""

from __future__ import annotations

from typing import Any

from wattprint.tasks import _generate, _pipeline, _text
from wattprint.tasks.base import BatchResult, DatasetSpec, Inputs, LoadedModel, LoadSettings, Phases, Task
from wattprint.tasks.params import count, flag
from wattprint.workloads.specs import specs


class TextGeneration(Task):
    name = "text-generation"
    version = "1"
    title = "Text generation"
    modality = "text"
    generative = True
    unit = "generated token"
    datasets = specs("wikitext", "bookcorpus", "oscar", "aienergyscore_text_generation")

    param_specs = (
        count("max_new_tokens", 10, "new tokens per prompt"),
        flag("exact_new_tokens", True, "every prompt gets max_new_tokens (EOS masked until then); false: stop at EOS"),
        count("prompt_words", None, "keep only the first N words of each prompt (the study used 20); none: all",
              optional=True),
    )

    def model_class(self, entry: Any) -> str:
        return _text.lm_class(entry)

    def load(self, entry: Any, settings: LoadSettings) -> LoadedModel:
        return _text.load_text_model(entry, settings, self.model_class(entry))

    def make_inputs(self, loaded: LoadedModel, dataset: DatasetSpec, workload: str, n: int, seed: int = 0) -> Inputs:
        if _text.choose_workload(workload) == "dataset":
            col = dataset.fields["text"]
            return _text.dataset_inputs(dataset, n, seed, lambda r: (r[col], None))
        cap = _text.text_limit(loaded, 1024) - 64
        texts, desc, stats = _text.synthetic_texts(loaded, dataset, n, seed, cap=cap)
        return Inputs(texts, None, dataset.name, "synthetic", desc, stats)

    separable_preprocess = True

    def prepare(self, loaded: LoadedModel, batch: list[Any], params: dict[str, Any]) -> Any:
        p = {**self.default_params(), **params}
        words = p["prompt_words"]
        prompts = [" ".join(str(t).split()[: int(words)]) for t in batch] if words else list(batch)
        return _generate.tokenize_prompts(loaded, prompts, int(p["max_new_tokens"]))

    def run_prepared(self, loaded: LoadedModel, prepared: Any, phases: Phases, params: dict[str, Any]) -> BatchResult:
        p = {**self.default_params(), **params}
        outputs, units = _generate.generate_tokenized(
            loaded, prepared, phases, int(p["max_new_tokens"]), exact=bool(p["exact_new_tokens"])
        )
        return _text.generated_result(loaded, outputs, units)

    def pipeline_task(self, loaded: LoadedModel) -> tuple[str | None, str]:
        return _pipeline.generation_task(loaded)

    def run_pipeline(self, loaded: LoadedModel, pipe: Any, batch: list[Any], phases: Phases,
                     params: dict[str, Any]) -> BatchResult:
        p = {**self.default_params(), **params}
        words = p["prompt_words"]
        prompts = [" ".join(str(t).split()[: int(words)]) for t in batch] if words else list(batch)
        return _pipeline.generate_texts(loaded, pipe, prompts, phases, int(p["max_new_tokens"]),
                                        exact=bool(p["exact_new_tokens"]))

    def run_batch(self, loaded: LoadedModel, batch: list[Any], phases: Phases, params: dict[str, Any]) -> BatchResult:
        return self.run_prepared(loaded, self.prepare(loaded, batch, params), phases, params)
