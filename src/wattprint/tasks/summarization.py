"""Summarization (CNN/DailyMail, XSum, SAMSum): a seq2seq model writes a short summary with ``generate``.

transformers 5 has no summarization pipeline: the model is driven directly. The paper protocol asks for
summaries of 10 to 15 new tokens (min_new_tokens=10, max_new_tokens=15); generated tokens are counted up to
each summary's end-of-sequence token. Prefill (encoder + first token) and decode are separate phases.
T5-family models get their "summarize: " prefix; general-purpose decoder-only models (BLOOMZ) a prompt.
"""

from __future__ import annotations

from typing import Any

from wattprint.tasks import _generate, _pipeline, _text
from wattprint.tasks.base import BatchResult, DatasetSpec, Inputs, LoadedModel, LoadSettings, Phases, Task
from wattprint.tasks.flops import analytic
from wattprint.tasks.params import choice, count, flag
from wattprint.workloads.specs import specs

# the study's zero-shot prompt for Flan-T5 and BLOOMZ (sashavor/co2_inference, code/zeroshot/zeroshot_summarize_*.py)
STUDY_PROMPT = "summarize the following text: {text}"


class Summarization(Task):
    name = "summarization"
    version = "1"
    title = "Summarization"
    modality = "text"
    generative = True
    unit = "summary"
    datasets = specs("cnn_dailymail", "xsum", "samsum", "aienergyscore_summarization")

    # forward_only: the decoder is fed the article shifted right, as BART-style models build it; that protocol
    # runs T5-family models as text2text generation. prompt "study": Flan-T5/BLOOMZ get STUDY_PROMPT; a
    # general-purpose model given a length for its kind (_generate.zero_shot_length) gets no minimum
    param_specs = (
        count("min_new_tokens", 10, "new tokens per summary at least", at_most="max_new_tokens"),
        count("max_new_tokens", 15, "new tokens per summary at most"),
        flag("forward_only", False, "one forward pass of encoder and decoder, no generation (AI Energy Score); "
             "T5-family models generate even then"),
        choice("prompt", "own", ("own", "study"), "general-purpose models: their own prefix or the study's prompt"),
        *_generate.ZERO_SHOT_SPECS,
    )

    def model_class(self, entry: Any) -> str:
        return _text.lm_class(entry)

    def load(self, entry: Any, settings: LoadSettings) -> LoadedModel:
        loaded = _text.load_text_model(entry, settings, self.model_class(entry))
        loaded.extra["general_purpose"] = getattr(entry, "kind", "") == "general-purpose"
        cfg = loaded.model.config
        if getattr(cfg, "model_type", "") == "t5":
            loaded.extra["prefix"] = "summarize: "
        elif not getattr(cfg, "is_encoder_decoder", False):
            loaded.extra["suffix"] = "\nSummarize the text above in one sentence:"
        return loaded

    def make_inputs(self, loaded: LoadedModel, dataset: DatasetSpec, workload: str, n: int, seed: int = 0) -> Inputs:
        loaded.extra["dataset"] = dataset.name  # a param may differ by dataset (_generate.for_dataset)
        if _text.choose_workload(workload) == "dataset":
            t, s = dataset.fields["text"], dataset.fields.get("summary")  # a mix of sources has no summaries
            return _text.dataset_inputs(dataset, n, seed, lambda r: (r[t], None if s is None else r[s]))
        texts, desc, stats = _text.synthetic_texts(loaded, dataset, n, seed, cap=_text.text_limit(loaded, 1024) - 40)
        return Inputs(texts, None, dataset.name, "synthetic", desc, stats)

    separable_preprocess = True

    def prepare(self, loaded: LoadedModel, batch: list[Any], params: dict[str, Any]) -> Any:
        p = {**self.default_params(), **params}
        if p["prompt"] == "study" and loaded.extra.get("general_purpose"):
            prompts = [STUDY_PROMPT.format(text=t) for t in batch]
        else:
            prompts = [loaded.extra.get("prefix", "") + t + loaded.extra.get("suffix", "") for t in batch]
        tok = loaded.processor
        seq2seq = getattr(loaded.model.config, "is_encoder_decoder", False)
        tok.padding_side = "right" if seq2seq else "left"
        limit = _text.text_limit(loaded, 1024) - (0 if seq2seq else _lengths(loaded, p)[1])
        return tok(prompts, padding=True, truncation=True, max_length=limit, return_tensors="pt",
                   add_special_tokens=seq2seq)

    def run_batch(self, loaded: LoadedModel, batch: list[Any], phases: Phases, params: dict[str, Any]) -> BatchResult:
        return self.run_prepared(loaded, self.prepare(loaded, batch, params), phases, params)

    def run_prepared(self, loaded: LoadedModel, prepared: Any, phases: Phases, params: dict[str, Any]) -> BatchResult:
        p = {**self.default_params(), **params}
        enc = prepared.to(loaded.device)
        inputs = {k: enc[k] for k in ("input_ids", "attention_mask")}
        if p["forward_only"] and _forward_only(loaded):
            return _forward(loaded, inputs)
        lo, hi, exact = _lengths(loaded, p)
        tok = loaded.processor
        out, _ = _generate.generate(loaded, inputs, phases, max_new_tokens=hi, min_new_tokens=hi if exact else lo)
        gen = _generate.new_tokens(loaded, out, enc["input_ids"].shape[1])
        eos = loaded.model.generation_config.eos_token_id
        eos = eos[0] if isinstance(eos, list) else eos
        units = {"inferences": int(enc["input_ids"].shape[0]), "input_tokens": int(enc["attention_mask"].sum().item()),
                 "generated_tokens": _generate.count_generated(gen, eos, exact=exact)}
        return _text.generated_result(loaded, tok.batch_decode(gen, skip_special_tokens=True), units)

    def pipeline_task(self, loaded: LoadedModel) -> tuple[str | None, str]:
        if loaded.extra.get("general_purpose"):
            return _pipeline.generation_task(loaded)
        return None, _pipeline.no_pipeline("summarization")

    def run_pipeline(self, loaded: LoadedModel, pipe: Any, batch: list[Any], phases: Phases,
                     params: dict[str, Any]) -> BatchResult:
        p = {**self.default_params(), **params}
        if p["prompt"] == "study":
            prompts = [STUDY_PROMPT.format(text=t) for t in batch]
        else:
            prompts = [loaded.extra.get("prefix", "") + t + loaded.extra.get("suffix", "") for t in batch]
        lo, hi, exact = _lengths(loaded, p)
        return _pipeline.generate_texts(loaded, pipe, prompts, phases, hi, exact=exact,
                                        **({"min_new_tokens": lo} if lo and not exact else {}))

    def score(self, outputs: list[Any], references: list[Any]) -> dict[str, float] | None:
        from wattprint.tasks.metrics import rouge

        if not references or any(o is None for o in outputs):  # forward-only passes write no summary
            return None
        return rouge(outputs, references)


def _lengths(loaded: LoadedModel, p: dict[str, Any]) -> tuple[int | None, int, bool]:
    """(min, max new tokens, exact) of a summary: a general-purpose model given a length for its kind gets that
    length and no minimum (the study gave Flan-T5 and BLOOMZ none); every other model min..max_new_tokens."""
    seq2seq = getattr(loaded.model.config, "is_encoder_decoder", False)
    own = p.get("encoder_decoder_max_new_tokens" if seq2seq else "decoder_max_new_tokens")
    if loaded.extra.get("general_purpose") and _generate.for_dataset(own, loaded.extra.get("dataset")) is not None:
        hi, exact = _generate.zero_shot_length(loaded, p)
        return None, hi, exact
    lo, hi = int(p["min_new_tokens"]), int(p["max_new_tokens"])
    return lo, hi, lo == hi


def _forward_only(loaded: LoadedModel) -> bool:
    """An encoder-decoder that is not T5-family (T5 generates under every protocol here)."""
    cfg = loaded.model.config
    return bool(getattr(cfg, "is_encoder_decoder", False)) and getattr(cfg, "model_type", "") not in ("t5", "mt5")


def _forward(loaded: LoadedModel, inputs: dict[str, Any]) -> BatchResult:
    """One forward pass; the decoder input is the article shifted right (the model's own default when no
    decoder input is given is the same for BART; built here so that every encoder-decoder gets one)."""
    import torch

    ids = inputs["input_ids"]
    start = loaded.model.config.decoder_start_token_id
    start = loaded.model.config.pad_token_id if start is None else start
    dec = torch.cat([torch.full_like(ids[:, :1], int(start)), ids[:, :-1]], dim=1)
    with torch.inference_mode():
        loaded.model(**inputs, decoder_input_ids=dec, decoder_attention_mask=inputs["attention_mask"])
    tokens = int(inputs["attention_mask"].sum().item())
    flops, how = analytic(loaded.parameters, 2 * tokens)
    n = int(ids.shape[0])
    return BatchResult([None] * n, {"inferences": n, "input_tokens": tokens}, flops, how)
