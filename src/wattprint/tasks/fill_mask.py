"""Fill-mask: predict the one masked word of a text (WikiText, BookCorpus, OSCAR).

One word per text is replaced by the tokenizer's mask token, a seeded choice or (param mask_position = "end")
the last word, where the study put its mask (sashavor/co2_inference, code/fillmask/fillmask_*.py: the last of
the first 20 words for C4 and OSCAR, appended to the line for BookCorpus); the reference is the word taken out,
so top-1 accuracy is known whenever the weights are real.
"""

from __future__ import annotations

import random
from typing import Any

from wattprint.tasks import _text
from wattprint.tasks.base import BatchResult, DatasetSpec, Inputs, LoadedModel, LoadSettings, Phases, Task
from wattprint.tasks.params import choice
from wattprint.workloads.specs import specs

MASK = "<wattprint-mask>"  # placeholder in items; replaced by the model's own mask token at run time


class FillMask(Task):
    name = "fill-mask"
    version = "1"
    title = "Fill-mask"
    modality = "text"
    datasets = specs("wikitext", "bookcorpus", "oscar", "c4")

    param_specs = (
        choice("mask_position", "random", ("random", "end"),
               "which word is masked: a seeded one, or the last (as the study masked)"),
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
        at_end = {**self.default_params(), **loaded.extra.get("task_params", {})}["mask_position"] == "end"
        items, refs = zip(*(_mask_one(t, rng, at_end) for t in texts)) if texts else ((), ())
        has_refs = workload_used == "dataset"
        return Inputs(list(items), list(refs) if has_refs else None, dataset.name, workload_used,
                      desc + ("; the last word of each text masked" if at_end else
                              "; one word per text masked (seeded)"), stats)

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

    def score(self, outputs: list[Any], references: list[Any]) -> dict[str, float] | None:
        from wattprint.tasks.metrics import accuracy

        if not references:
            return None
        return {"top1_accuracy": accuracy([str(o).lower() for o in outputs], [str(r).lower() for r in references])}


def _mask_one(text: str, rng: random.Random, at_end: bool = False) -> tuple[str, str]:
    words = text.split()
    if not words:
        return MASK, ""
    i = len(words) - 1 if at_end else rng.randrange(len(words))
    ref = words[i]
    words[i] = MASK
    return " ".join(words), ref
