"""Shared parts of the text tasks: loading a model with its tokenizer, synthetic or dataset texts, batching."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from wattprint.tasks.base import BatchResult, DatasetSpec, Inputs, LoadedModel, LoadSettings
from wattprint.tasks.flops import analytic


def load_text_model(entry: Any, settings: LoadSettings, auto_class: str) -> LoadedModel:
    """The model as ``auto_class`` plus its tokenizer (own, cached, or the stated stand-in)."""
    from wattprint.models.loaders import load_transformers
    from wattprint.models.tokenizer import load_tokenizer

    ml = load_transformers(entry, settings, auto_class)
    tok, tok_desc = load_tokenizer(ml.plan.location, entry.hub_id, ml.model, settings)
    ensure_pad_token(tok)
    return LoadedModel(
        model=ml.model, processor=tok, device=settings.device, dtype=settings.dtype, weights=ml.plan.weights,
        parameters=ml.parameters, source=ml.plan.source, extra=base_extra(entry, ml, auto_class, tok_desc),
    )


def is_seq2seq(config: dict[str, Any]) -> bool:
    return config.get("model_type") in ("t5", "bart", "pegasus", "mt5", "mbart", "whisper") or bool(
        config.get("is_encoder_decoder")
    )


def lm_class(entry: Any) -> str:
    """AutoModelForSeq2SeqLM or AutoModelForCausalLM for a general-purpose (or generative) entry."""
    cfg = entry.config
    if cfg is None:
        from transformers import AutoConfig

        c = AutoConfig.from_pretrained(entry.local_path or entry.hub_id)
        return "AutoModelForSeq2SeqLM" if getattr(c, "is_encoder_decoder", False) else "AutoModelForCausalLM"
    return "AutoModelForSeq2SeqLM" if is_seq2seq(cfg) else "AutoModelForCausalLM"


class ZeroShotText:
    """Mixin for a text task whose general-purpose entries (Flan-T5, BLOOMZ) answer zero-shot by generating:
    those load as a language model (:func:`lm_class`), every other entry as ``head_class``; the
    loaded model's ``extra["zero_shot"]`` says which path ``run_batch`` takes."""

    head_class: ClassVar[str]  # e.g. "AutoModelForSequenceClassification"

    def model_class(self, entry: Any) -> str:
        if entry.kind == "general-purpose":
            return lm_class(entry)
        return self.head_class

    def load(self, entry: Any, settings: LoadSettings) -> LoadedModel:
        loaded = load_text_model(entry, settings, self.model_class(entry))
        loaded.extra["zero_shot"] = entry.kind == "general-purpose"
        return loaded


def encoder_result(loaded: LoadedModel, outputs: list[Any], enc: Any, **more_units: int) -> BatchResult:
    """A one-pass batch's result: one inference per output, the input tokens of ``enc`` (padding excluded),
    any task-specific counts in ``more_units``, and analytic FLOPs over the input tokens."""
    tokens = token_count(enc)
    flops, how = analytic(loaded.parameters, tokens)
    return BatchResult(outputs, {"inferences": len(outputs), "input_tokens": tokens, **more_units}, flops, how)


def generated_result(loaded: LoadedModel, outputs: list[Any], units: dict[str, int]) -> BatchResult:
    """A generated batch's result: ``units`` as given, analytic FLOPs over input plus generated tokens."""
    flops, how = analytic(loaded.parameters, units["input_tokens"] + units["generated_tokens"])
    return BatchResult(outputs, units, flops, how)


def ensure_pad_token(tok: Any) -> None:
    """Decoder-only tokenizers (GPT-2, OPT...) ship without a pad token; batches need one: use EOS, the
    usual choice (the attention mask keeps padded positions out of the computation)."""
    if getattr(tok, "pad_token", "") is None and getattr(tok, "eos_token", None) is not None:
        tok.pad_token = tok.eos_token


def base_extra(entry: Any, ml: Any, auto_class: str, processor_desc: str) -> dict[str, Any]:
    backbone = "backbone" in (entry.notes or "")
    return {
        "entry": entry.name,
        "kind": entry.kind,
        "auto_class": auto_class,
        "weights_reason": ml.plan.reason,
        "processor": processor_desc,
        # a backbone's task head is random even with pretrained weights: its outputs cannot be scored
        "scorable": ml.plan.weights == "pretrained" and not backbone,
    }


def text_limit(loaded: LoadedModel, default: int = 512) -> int:
    """The longest input the model takes, in tokens (position embeddings), capped at ``default``."""
    cfg = loaded.model.config
    for key in ("max_position_embeddings", "n_positions", "max_source_positions"):
        v = getattr(cfg, key, None)
        if isinstance(v, int) and v > 0:
            # RoBERTa-style models reserve 2 positions for the padding offset
            return min(default, v - 2 if getattr(cfg, "model_type", "") in ("roberta", "xlm-roberta") else v)
    return default


def synthetic_texts(loaded: LoadedModel, spec: DatasetSpec, n: int, seed: int, prefix: str = "tokens",
                    cap: int | None = None) -> tuple[list[str], str, dict[str, Any]]:
    """(texts, description, measured stats) matched to ``spec``'s token-length statistics."""
    from wattprint.workloads import synthetic

    dist = synthetic.length_dist(spec.stats, prefix, cap)
    texts, lengths = synthetic.texts(loaded.processor, dist, n, seed)
    desc = (f"synthetic: {n} texts of real words, {dist.describe('tokens')}, lengths spread over its quantiles "
            f"({spec.name} statistics: "
            f"{spec.source}); tokenizer {loaded.extra.get('processor', '?')}; seed {seed}")
    return texts, desc, {"tokens": synthetic.summarize([float(x) for x in lengths])}


def dataset_inputs(spec: DatasetSpec, n: int, seed: int,
                   convert: Callable[[dict[str, Any]], tuple[Any, Any]]) -> Inputs:
    """Inputs from the hub dataset: ``convert`` maps a row to (item, reference)."""
    from wattprint.workloads import hub

    pairs = [convert(r) for r in hub.rows(spec, n, seed)]
    items = [p[0] for p in pairs]
    refs = [p[1] for p in pairs]
    desc = f"dataset: {n} rows of {spec.hub_id} ({spec.config or 'default'}, {spec.split}), shuffle seed {seed}"
    return Inputs(items, refs if any(r is not None for r in refs) else None, spec.name, "dataset", desc)


def choose_workload(workload: str) -> str:
    from wattprint.workloads.hub import resolve_workload

    return resolve_workload(workload)[0]


def tokenize(loaded: LoadedModel, texts: Any, pair: Any = None, **kw: Any):
    """Tokenize a batch (padded, truncated to the model's limit), on the CPU: the preprocessing step."""
    enc = loaded.processor(texts, pair, padding=True, truncation=True, max_length=text_limit(loaded),
                           return_tensors="pt", **kw)
    if not uses_token_types(loaded):
        enc.pop("token_type_ids", None)
    return enc


def encode(loaded: LoadedModel, texts: Any, pair: Any = None, **kw: Any):
    """Tokenize a batch (padded, truncated to the model's limit) onto the model's device."""
    return tokenize(loaded, texts, pair, **kw).to(loaded.device)


def uses_token_types(loaded: LoadedModel) -> bool:
    """Whether the model has a segment (token type) embedding with more than one type."""
    return int(getattr(loaded.model.config, "type_vocab_size", 0) or 0) > 1


def token_count(enc: Any) -> int:
    return int(enc["attention_mask"].sum().item())


def sync(device: str) -> None:
    """Wait for the device to finish queued work, so a phase edge is where the work is."""
    if str(device).startswith("cuda"):
        import torch

        torch.cuda.synchronize(device)
