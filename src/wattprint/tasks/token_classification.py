"""Token classification (named entities): one tag per word of a pre-split sentence (CoNLL-2003, WNUT-17,
OntoNotes 5). A word's tag is the prediction on its first sub-word token."""

from __future__ import annotations

from typing import Any

from wattprint.tasks import _pipeline, _text
from wattprint.tasks.base import BatchResult, DatasetSpec, Inputs, LoadedModel, LoadSettings, Phases, Task
from wattprint.workloads.specs import specs


class TokenClassification(Task):
    name = "token-classification"
    version = "1"
    title = "Token classification (NER)"
    modality = "text"
    datasets = specs("conll2003", "wnut_17", "ontonotes5", "wikiann", "record")

    def model_class(self, entry: Any) -> str:
        return "AutoModelForTokenClassification"

    def load(self, entry: Any, settings: LoadSettings) -> LoadedModel:
        return _text.load_text_model(entry, settings, self.model_class(entry))

    def make_inputs(self, loaded: LoadedModel, dataset: DatasetSpec, workload: str, n: int, seed: int = 0) -> Inputs:
        from wattprint.workloads import synthetic

        if _text.choose_workload(workload) == "dataset":
            if "tokens" not in dataset.fields:  # raw text (ReCoRD passages): words split on spaces, no labels
                col = dataset.fields["text"]
                return _text.dataset_inputs(dataset, n, seed, lambda r: (str(r[col]).split(), None))
            names = dataset.stats.get("label_names")
            tok, lab = dataset.fields["tokens"], dataset.fields["label"]
            return _text.dataset_inputs(
                dataset, n, seed, lambda r: (list(r[tok]), [names[i] for i in r[lab]] if names else None)
            )
        dist = synthetic.length_dist(dataset.stats, "words", cap=_text.text_limit(loaded) // 2)
        items = synthetic.word_sequences(loaded.processor, dist, n, seed)
        desc = (f"synthetic: {n} sentences of real words, {dist.describe('words')}, lengths spread over its "
                f"quantiles ({dataset.name} statistics: {dataset.source}); seed {seed}")
        return Inputs(items, None, dataset.name, "synthetic", desc,
                      {"words": synthetic.summarize([float(len(x)) for x in items])})

    separable_preprocess = True

    def prepare(self, loaded: LoadedModel, batch: list[Any], params: dict[str, Any]) -> Any:
        words = [list(w) for w in batch]
        return words, _text.tokenize(loaded, words, is_split_into_words=True)

    def run_prepared(self, loaded: LoadedModel, prepared: Any, phases: Phases, params: dict[str, Any]) -> BatchResult:
        import torch

        batch, enc = prepared
        word_ids = [enc.word_ids(row) for row in range(len(batch))]  # from the fast tokenizer, before .to()
        enc = enc.to(loaded.device)
        with torch.inference_mode():
            pred = loaded.model(**enc).logits.argmax(-1).tolist()
        labels = loaded.model.config.id2label
        outputs = []
        for row, words in enumerate(batch):
            tags = ["O"] * len(words)
            seen = set()
            for pos, w in enumerate(word_ids[row]):
                if w is not None and w not in seen:
                    seen.add(w)
                    tags[w] = labels.get(pred[row][pos], str(pred[row][pos]))
            outputs.append(tags)
        return _text.encoder_result(loaded, outputs, enc, words=sum(len(w) for w in batch))

    def run_batch(self, loaded: LoadedModel, batch: list[Any], phases: Phases, params: dict[str, Any]) -> BatchResult:
        return self.run_prepared(loaded, self.prepare(loaded, batch, params), phases, params)

    def pipeline_task(self, loaded: LoadedModel) -> tuple[str | None, str]:
        return "token-classification", ""

    def run_pipeline(self, loaded: LoadedModel, pipe: Any, batch: list[Any], phases: Phases,
                     params: dict[str, Any]) -> BatchResult:
        # the study passed each sentence as one string, its words joined by spaces (code/token_classif/*.py);
        # every sub-word's label is kept (ignore_labels=[]) so that each word gets its first sub-word's tag
        words = [list(w) for w in batch]
        out = _pipeline.call(pipe, [" ".join(w) for w in words], ignore_labels=[])
        return _pipeline.encoder_result(loaded, pipe, [_word_tags(w, ents) for w, ents in zip(words, out)],
                                        words=sum(len(w) for w in words))

    def score(self, outputs: list[Any], references: list[Any]) -> dict[str, float] | None:
        from wattprint.tasks.metrics import token_f1

        return token_f1(outputs, references) if references else None


def _word_tags(words: list[str], entities: list[dict[str, Any]]) -> list[str]:
    """Per word, the tag of the sub-word token that starts it ("O" where none does: truncated away)."""
    by_start: dict[int, str] = {}
    for ent in entities:
        by_start.setdefault(int(ent["start"]), str(ent["entity"]))
    tags, pos = [], 0
    for w in words:
        tags.append(by_start.get(pos, "O"))
        pos += len(w) + 1
    return tags
