"""Fill-mask: predict the one masked word of a text (WikiText, BookCorpus, OSCAR).

One word per text is replaced by the tokenizer's mask token, a seeded choice or (param mask_position = "end")
the last word, where the study put its mask (sashavor/co2_inference, code/fillmask/fillmask_*.py: the last of
the first 20 words for C4 and OSCAR, appended to the line for BookCorpus); the reference is the word taken out,
so top-1 accuracy is known whenever the weights are real.
"""

from __future__ import annotations

import random
from typing import Any

from wattprint.tasks import _generate, _pipeline, _text
from wattprint.tasks.base import BatchResult, DatasetSpec, Inputs, LoadedModel, LoadSettings, Phases, Task
from wattprint.tasks.flops import analytic
from wattprint.tasks.params import Param, count
from wattprint.workloads.specs import specs

POSITIONS = {"random": "; one word per text masked (seeded)", "end": "; the last word of each text masked",
             "append": "; periods removed and the mask appended to each text"}
MASK = "<wattprint-mask>"  # placeholder in items; replaced by the model's own mask token at run time


class FillMask(Task):
    name = "fill-mask"
    version = "1"
    title = "Fill-mask"
    modality = "text"
    datasets = specs("wikitext", "bookcorpus", "oscar", "c4")

    param_specs = (
        Param("mask_position", "str", "random", "which word is masked: random (a seeded one), end (the last, as the "
              "study masked C4 and OSCAR), or append (none: the mask after the text, its periods removed, as the "
              "study's BookCorpus lines)",
              choices=("random", "end", "append"), per_dataset=True),
        count("prompt_words", None, "keep the first N words of each text (the study: 20 for C4 and OSCAR); "
              "none: all", optional=True, per_dataset=True),
    )

    def model_class(self, entry: Any) -> str:
        return "AutoModelForMaskedLM"

    def load(self, entry: Any, settings: LoadSettings) -> LoadedModel:
        return _text.load_text_model(entry, settings, self.model_class(entry))

    def make_inputs(self, loaded: LoadedModel, dataset: DatasetSpec, workload: str, n: int, seed: int = 0) -> Inputs:
        if _text.choose_workload(workload) == "dataset":
            col = dataset.fields["text"]
            base = _text.dataset_inputs(dataset, n, seed, lambda r: (r[col], None))
            texts, desc, workload_used = base.items, base.description, "dataset"
            stats: dict[str, Any] = {}
        else:
            texts, desc, stats = _text.synthetic_texts(loaded, dataset, n, seed, cap=_text.text_limit(loaded) - 4)
            workload_used = "synthetic"
        rng = random.Random(seed)
        p = {**self.default_params(), **loaded.extra.get("task_params", {})}
        words = _generate.for_dataset(p["prompt_words"], dataset.name)
        position = _generate.for_dataset(p["mask_position"], dataset.name) or "random"
        if words:
            texts = [" ".join(str(t).split()[: int(words)]) for t in texts]
            desc += f"; cut to the first {int(words)} words"
        items, refs = zip(*(_mask_one(t, rng, position) for t in texts)) if texts else ((), ())
        has_refs = workload_used == "dataset" and position != "append"  # an appended mask replaced no word
        return Inputs(list(items), list(refs) if has_refs else None, dataset.name, workload_used,
                      desc + POSITIONS.get(position, POSITIONS["random"]), stats)

    separable_preprocess = True

    def prepare(self, loaded: LoadedModel, batch: list[Any], params: dict[str, Any]) -> Any:
        return _text.tokenize(loaded, [t.replace(MASK, loaded.processor.mask_token) for t in batch])

    def run_prepared(self, loaded: LoadedModel, prepared: Any, phases: Phases, params: dict[str, Any]) -> BatchResult:
        import torch

        tok = loaded.processor
        enc = prepared.to(loaded.device)
        with torch.inference_mode():
            logits = loaded.model(**enc).logits
        positions = (enc["input_ids"] == tok.mask_token_id).nonzero().tolist()
        first: dict[int, int] = {}
        for row, pos in positions:
            first.setdefault(row, pos)
        outputs: list[str | None] = []
        for row in range(int(enc["input_ids"].shape[0])):
            if row not in first:  # the mask fell beyond the truncation limit
                outputs.append(None)
                continue
            best = int(logits[row, first[row]].argmax())
            outputs.append(tok.decode([best]).strip())
        return _text.encoder_result(loaded, outputs, enc)

    def run_batch(self, loaded: LoadedModel, batch: list[Any], phases: Phases, params: dict[str, Any]) -> BatchResult:
        return self.run_prepared(loaded, self.prepare(loaded, batch, params), phases, params)

    def pipeline_task(self, loaded: LoadedModel) -> tuple[str | None, str]:
        return "fill-mask", ""

    def run_pipeline(self, loaded: LoadedModel, pipe: Any, batch: list[Any], phases: Phases,
                     params: dict[str, Any]) -> BatchResult:
        from transformers.pipelines.base import PipelineException

        texts = [t.replace(MASK, loaded.processor.mask_token) for t in batch]
        limit = _text.text_limit(loaded)
        kw: dict[str, Any] = {"top_k": 1, "tokenizer_kwargs": {"truncation": True, "max_length": limit}}
        try:
            out = _pipeline.call(pipe, texts, **kw)
        except PipelineException:  # a mask cut off by truncation: each text alone, None where it was (as direct)
            return self._one_by_one(loaded, pipe, texts, kw)
        return _pipeline.encoder_result(loaded, pipe, [_best(r) for r in out])

    def _one_by_one(self, loaded: LoadedModel, pipe: Any, texts: list[str], kw: dict[str, Any]) -> BatchResult:
        from transformers.pipelines.base import PipelineException

        outputs: list[str | None] = []
        tokens = 0
        for text in texts:
            try:
                outputs.append(_best(_pipeline.call(pipe, [text], **kw)[0]))
            except PipelineException:
                outputs.append(None)
            tokens += _pipeline.input_tokens(pipe)
        flops, how = analytic(loaded.parameters, tokens)
        return BatchResult(outputs, {"inferences": len(texts), "input_tokens": tokens}, flops, how)

    def score(self, outputs: list[Any], references: list[Any]) -> dict[str, float] | None:
        from wattprint.tasks.metrics import accuracy

        if not references:
            return None
        return {"top1_accuracy": accuracy([str(o).lower() for o in outputs], [str(r).lower() for r in references])}


def _mask_one(text: str, rng: random.Random, position: str = "random") -> tuple[str, str]:
    if position == "append":  # as the study built its BookCorpus inputs: periods removed, the mask appended
        return text.replace(".", "") + MASK, ""
    words = text.split()
    if not words:
        return MASK, ""
    i = len(words) - 1 if position == "end" else rng.randrange(len(words))
    ref = words[i]
    words[i] = MASK
    return " ".join(words), ref


def _best(result: Any) -> str:
    """The fill-mask pipeline's top token for one text (a list per mask when a text holds several)."""
    first = result[0] if isinstance(result, list) else result
    first = first[0] if isinstance(first, list) else first
    return str(first["token_str"]).strip()
