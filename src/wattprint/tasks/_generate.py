"""Generation in one pass with prefill and decode phases.

A logits processor is called by ``generate`` once per new token, after the forward pass that produced that
token's logits. Its first call therefore marks the end of the prefill (the prompt's forward pass, which
yields the first new token); every later forward pass is decode. No data is run twice.
"""

from __future__ import annotations

import logging
from typing import Any

from wattprint.tasks._text import sync
from wattprint.tasks.base import LoadedModel, Phases
from wattprint.tasks.params import Param, count, defaults, flag


def _marker_class():
    from transformers import LogitsProcessor

    class PhaseMarker(LogitsProcessor):
        """Ends "prefill" and begins "decode" at the first new token; counts the steps."""

        def __init__(self, phases: Phases, device: str) -> None:
            self.phases, self.device, self.steps = phases, device, 0

        def __call__(self, input_ids, scores):
            if self.steps == 0:
                sync(self.device)
                self.phases.end("prefill")
                self.phases.begin("decode")
            self.steps += 1
            return scores

    return PhaseMarker


class _LengthNotice(logging.Filter):
    """Drops transformers' notice that ``max/min_new_tokens`` take precedence over ``max/min_length``: Whisper's
    generate sets both on its own config at every call, so the notice came twice per input and buried the run's
    log; the new-token counts are what this module asks for and what runs."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "seem to have been set" not in record.getMessage()


_LENGTH_NOTICE = _LengthNotice()


def _quiet_length_notice() -> None:
    log = logging.getLogger("transformers.generation.utils")
    if _LENGTH_NOTICE not in log.filters:
        log.addFilter(_LENGTH_NOTICE)


def generate(loaded: LoadedModel, inputs: dict[str, Any], phases: Phases, *, max_new_tokens: int,
             min_new_tokens: int | None = None, **kw: Any) -> tuple[Any, int]:
    """Run ``model.generate`` with phases; returns (sequences, decoding steps). ``min_new_tokens`` equal to
    ``max_new_tokens`` gives exactly that many new tokens per sequence (EOS is masked until then)."""
    import torch
    from transformers import LogitsProcessorList

    marker = _marker_class()(phases, loaded.device)
    _quiet_length_notice()
    gen_kw = dict(kw)
    gen_kw.setdefault("do_sample", False)
    gen_kw.setdefault("num_beams", 1)
    if min_new_tokens:
        gen_kw["min_new_tokens"] = min_new_tokens
    gc = getattr(loaded.model, "generation_config", None)
    pad = pad_id(loaded)
    if gc is not None and gc.pad_token_id is None and pad is not None:
        gc.pad_token_id = pad  # on the config, not a kwarg: BLIP's generate passes its own pad id along
    phases.begin("prefill")
    with torch.inference_mode():
        out = loaded.model.generate(**inputs, max_new_tokens=max_new_tokens,
                                    logits_processor=LogitsProcessorList([marker]), **gen_kw)
    sync(loaded.device)
    phases.end("decode" if marker.steps else "prefill")
    return out, marker.steps


def pad_id(loaded: LoadedModel) -> int | None:
    tok = loaded.processor
    tok = getattr(tok, "tokenizer", tok)
    for v in (getattr(tok, "pad_token_id", None), getattr(tok, "eos_token_id", None)):
        if isinstance(v, int):
            return v
    cfg = loaded.model.config
    for k in ("pad_token_id", "eos_token_id"):
        v = getattr(cfg, k, None) or getattr(getattr(cfg, "text_config", None), k, None)
        if isinstance(v, int):
            return v
    return None


def new_tokens(loaded: LoadedModel, sequences: Any, prompt_len: int) -> Any:
    """The generated part of ``sequences``: after the prompt (decoder-only) or after the start token."""
    if getattr(loaded.model.config, "is_encoder_decoder", False):
        return sequences[:, 1:]
    return sequences[:, prompt_len:]


def count_generated(tokens: Any, eos_id: int | None, exact: bool) -> int:
    """Generated tokens in a batch: all of them when exact, else up to and including each row's first EOS."""
    if exact or eos_id is None:
        return int(tokens.numel())
    total = 0
    for row in tokens.tolist():
        total += row.index(eos_id) + 1 if eos_id in row else len(row)
    return total


def tokenize_prompts(loaded: LoadedModel, prompts: list[str], max_new_tokens: int) -> Any:
    """Prompts tokenized on the CPU (left-padded for decoder-only, leaving room for the new tokens)."""
    from wattprint.tasks._text import text_limit

    tok = loaded.processor
    seq2seq = getattr(loaded.model.config, "is_encoder_decoder", False)
    tok.padding_side = "right" if seq2seq else "left"
    limit = text_limit(loaded, 1024) - (0 if seq2seq else max_new_tokens)
    return tok(prompts, padding=True, truncation=True, max_length=max(8, limit), return_tensors="pt",
               add_special_tokens=seq2seq)


def generate_tokenized(loaded: LoadedModel, enc: Any, phases: Phases, max_new_tokens: int,
                       exact: bool = True) -> tuple[list[str], dict[str, int]]:
    """Generate from tokenized prompts (moved to the device here), decode; returns outputs and units."""
    enc = enc.to(loaded.device)
    model_inputs = {k: enc[k] for k in ("input_ids", "attention_mask")}
    out, _ = generate(loaded, model_inputs, phases, max_new_tokens=max_new_tokens,
                      min_new_tokens=max_new_tokens if exact else None)
    gen = new_tokens(loaded, out, enc["input_ids"].shape[1])
    eos = getattr(loaded.model.generation_config, "eos_token_id", None)
    eos = eos[0] if isinstance(eos, list) else eos
    units = {"inferences": int(enc["input_ids"].shape[0]), "input_tokens": int(enc["attention_mask"].sum().item()),
             "generated_tokens": count_generated(gen, eos, exact)}
    return loaded.processor.batch_decode(gen, skip_special_tokens=True), units


def prompt_and_generate(loaded: LoadedModel, prompts: list[str], phases: Phases, max_new_tokens: int,
                        exact: bool = True) -> tuple[list[str], dict[str, int]]:
    """Tokenize prompts, generate, decode; returns outputs and units."""
    return generate_tokenized(loaded, tokenize_prompts(loaded, prompts, max_new_tokens), phases, max_new_tokens, exact)


def for_dataset(value: Any, dataset: str | None) -> Any:
    """A task param's value for ``dataset``: the value itself, or its entry in a table by dataset name (the
    study gave some models different lengths per dataset); None where the table leaves the dataset out."""
    if isinstance(value, dict):
        return value.get(dataset or "")
    return value


def zero_shot_length(loaded: LoadedModel, p: dict[str, Any]) -> tuple[int, bool]:
    """(max new tokens, exact) of a general-purpose model's generated answer. ``decoder_max_new_tokens``
    (decoder-only: BLOOMZ) or ``encoder_decoder_max_new_tokens`` (Flan-T5) where set, else ``max_new_tokens``;
    exact (EOS masked until then) from ``decoder_exact_new_tokens`` for a decoder-only model where set, else
    ``exact_new_tokens``. Each may be a table by dataset name (the inputs' dataset, ``loaded.extra["dataset"]``)."""
    dataset = loaded.extra.get("dataset")
    decoder_only = not getattr(loaded.model.config, "is_encoder_decoder", False)
    n = for_dataset(p.get("decoder_max_new_tokens" if decoder_only else "encoder_decoder_max_new_tokens"), dataset)
    exact = for_dataset(p.get("decoder_exact_new_tokens"), dataset) if decoder_only else None
    if exact is None:
        exact = for_dataset(p.get("exact_new_tokens", True), dataset)
    return int(n if n is not None else p["max_new_tokens"]), bool(True if exact is None else exact)


# the params :func:`zero_shot_length` reads, with the defaults that keep a task's own behaviour
ZERO_SHOT_SPECS = (
    count("decoder_max_new_tokens", None, "general-purpose decoder-only models' (BLOOMZ) answer length; none: "
          "max_new_tokens", optional=True, per_dataset=True),
    count("encoder_decoder_max_new_tokens", None, "general-purpose encoder-decoder models' (Flan-T5) answer "
          "length; none: max_new_tokens", optional=True, per_dataset=True),
    flag("exact_new_tokens", True, "general-purpose models' answers get exactly their length (EOS masked until "
         "then); false: stop at EOS", per_dataset=True),
    Param("decoder_exact_new_tokens", "bool", None, "the same for decoder-only models only; none: "
          "exact_new_tokens", optional=True, per_dataset=True),
)
ZERO_SHOT_PARAMS: dict[str, Any] = defaults(ZERO_SHOT_SPECS)
