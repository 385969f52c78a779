"""Extractive question answering (SQuAD, SQuAD v2, SciQ): the answer is the best span of the context.

transformers 5 has no question-answering pipeline: the model is driven directly and the span decoded from
start/end logits (best start, then the best end within ``max_answer_tokens`` after it, inside the context).
General-purpose models (Flan-T5, BLOOMZ) are prompted and generate the answer instead.
"""

from __future__ import annotations

from typing import Any

from wattprint.tasks import _generate, _pipeline, _text
from wattprint.tasks.base import BatchResult, DatasetSpec, Inputs, LoadedModel, Phases, Task
from wattprint.tasks.params import choice, count
from wattprint.workloads.specs import specs

PROMPT = "Answer the question from the context.\nContext: {context}\nQuestion: {question}\nAnswer:"
# the study's zero-shot prompt for Flan-T5 and BLOOMZ, "?" appended to the question as there
# (sashavor/co2_inference, code/zeroshot/zeroshot_qa_*.py)
STUDY_PROMPT = '{question}? Find the answer to the question in the following text: "{context}". Answer:'


class QuestionAnswering(_text.ZeroShotText, Task):
    name = "question-answering"
    version = "1"
    title = "Extractive question answering"
    modality = "text"
    datasets = specs("squad", "squad_v2", "sciq", "aienergyscore_extractive_qa")
    head_class = "AutoModelForQuestionAnswering"

    # general-purpose models: the answer's length per model kind and dataset as _generate.zero_shot_length reads it
    param_specs = (
        count("max_answer_tokens", 30, "longest answer span, in tokens (extractive models)"),
        count("max_new_tokens", 10, "general-purpose models: new tokens for the answer"),
        choice("prompt", "own", ("own", "study"), "general-purpose models: wattprint's prompt or the study's"),
        *_generate.ZERO_SHOT_SPECS,
    )

    def make_inputs(self, loaded: LoadedModel, dataset: DatasetSpec, workload: str, n: int, seed: int = 0) -> Inputs:
        loaded.extra["dataset"] = dataset.name  # a param may differ by dataset (_generate.for_dataset)
        if _text.choose_workload(workload) == "dataset":
            return _text.dataset_inputs(dataset, n, seed, lambda r: _row(dataset, r))
        limit = _text.text_limit(loaded) - 40
        contexts, desc_c, st_c = _text.synthetic_texts(loaded, dataset, n, seed, "context_tokens", cap=limit)
        q_stats = {"tokens_mean": dataset.stats["question_tokens_mean"],
                   "tokens_std": dataset.stats["question_tokens_std"], "tokens_min": 3, "tokens_max": 30}
        q_spec = DatasetSpec(dataset.name, dataset.hub_id, stats=q_stats, source=dataset.source)
        questions, _, st_q = _text.synthetic_texts(loaded, q_spec, n, seed + 1)
        items = [{"question": q + "?", "context": c} for q, c in zip(questions, contexts)]
        desc = desc_c.replace("texts", "contexts") + f"; questions tokens ~ N({q_stats['tokens_mean']}, " \
            f"{q_stats['tokens_std']})"
        return Inputs(items, None, dataset.name, "synthetic", desc,
                      {"context_tokens": st_c["tokens"], "question_tokens": st_q["tokens"]})

    separable_preprocess = True

    def prepare(self, loaded: LoadedModel, batch: list[Any], params: dict[str, Any]) -> Any:
        p = {**self.default_params(), **params}
        if loaded.extra.get("zero_shot"):
            template = STUDY_PROMPT if p["prompt"] == "study" else PROMPT
            prompts = [template.format(**item) for item in batch]
            return _generate.tokenize_prompts(loaded, prompts, _generate.zero_shot_length(loaded, p)[0])
        contexts = [it["context"] for it in batch]
        enc = loaded.processor([it["question"] for it in batch], contexts, padding=True, truncation="only_second",
                               max_length=_text.text_limit(loaded), return_offsets_mapping=True,
                               return_tensors="pt")
        offsets = enc.pop("offset_mapping").tolist()
        if not _text.uses_token_types(loaded):
            enc.pop("token_type_ids", None)
        return enc, offsets, [enc.sequence_ids(i) for i in range(len(batch))], contexts

    def run_prepared(self, loaded: LoadedModel, prepared: Any, phases: Phases, params: dict[str, Any]) -> BatchResult:
        p = {**self.default_params(), **params}
        if loaded.extra.get("zero_shot"):
            outputs, units = _generate.generate_tokenized(loaded, prepared, phases,
                                                          *_generate.zero_shot_length(loaded, p))
            return _text.generated_result(loaded, outputs, units)
        import torch

        enc, offsets, seq_ids, contexts = prepared
        enc = enc.to(loaded.device)
        with torch.inference_mode():
            out = loaded.model(**enc)
        starts, ends = out.start_logits.float().cpu(), out.end_logits.float().cpu()
        outputs = [_best_span(starts[i], ends[i], seq_ids[i], offsets[i], contexts[i], int(p["max_answer_tokens"]))
                   for i in range(len(contexts))]
        return _text.encoder_result(loaded, outputs, enc)

    def run_batch(self, loaded: LoadedModel, batch: list[Any], phases: Phases, params: dict[str, Any]) -> BatchResult:
        return self.run_prepared(loaded, self.prepare(loaded, batch, params), phases, params)

    def pipeline_task(self, loaded: LoadedModel) -> tuple[str | None, str]:
        if loaded.extra.get("zero_shot"):
            return _pipeline.generation_task(loaded)
        return None, _pipeline.no_pipeline("question-answering")

    def run_pipeline(self, loaded: LoadedModel, pipe: Any, batch: list[Any], phases: Phases,
                     params: dict[str, Any]) -> BatchResult:
        p = {**self.default_params(), **params}
        template = STUDY_PROMPT if p["prompt"] == "study" else PROMPT
        return _pipeline.generate_texts(loaded, pipe, [template.format(**item) for item in batch], phases,
                                        *_generate.zero_shot_length(loaded, p))

    def score(self, outputs: list[Any], references: list[Any]) -> dict[str, float] | None:
        from wattprint.tasks.metrics import qa_scores

        return qa_scores(outputs, references) if references else None


def _row(spec: DatasetSpec, r: dict[str, Any]) -> tuple[dict[str, str], list[str] | None]:
    f = spec.fields
    item = {"question": r[f["question"]], "context": r[f["context"]]}
    if "answer" not in f:  # a mix of sources kept without its answers
        return item, None
    ans = r[f["answer"]]
    return item, list(ans["text"]) if isinstance(ans, dict) else [str(ans)]


def _best_span(start: Any, end: Any, seq_ids: list[Any], offsets: list[Any], context: str, max_len: int) -> str:
    ctx = [i for i, s in enumerate(seq_ids) if s == 1]
    if not ctx:
        return ""
    lo, hi = ctx[0], ctx[-1]
    s = int(start[lo : hi + 1].argmax()) + lo
    e_hi = min(hi, s + max_len - 1)
    e = int(end[s : e_hi + 1].argmax()) + s
    return context[offsets[s][0] : offsets[e][1]]
