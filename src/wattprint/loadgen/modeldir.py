"""A model folder that ``transformers serve`` can load offline: a catalog architecture with random weights
and a stand-in tokenizer, for benchmarking the engine without the hub.

The tokenizer is a byte-level BPE of the model's own vocabulary size: the 256 byte symbols, one token for
each word the load generator's prompts use (:data:`wattprint.loadgen.workload.WORDS`), and fillers ``t<i>``
up to the size, so a prompt of N words is N tokens and every id the random model emits decodes to non-empty
text (the server streams one chunk per token; a lone non-ASCII byte symbol, 128 of the ids, may be held back
by the server's detokenizer, so chunks can carry more than one token and the counts come from ``usage``).
Model-specific tokenizer classes load this layout too (``transformers`` forces its own class for some model
types, Qwen2 among them). Its chat template joins the messages' contents. ``overrides`` shrink a config for
tests (``{"num_hidden_layers": 2, ...}``); the folder's ``wattprint.json`` says what it is.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from wattprint.core.errors import UnknownNameError
from wattprint.loadgen.workload import WORDS

CHAT_TEMPLATE = "{% for m in messages %}{{ m['content'] }} {% endfor %}"


def _vocab(vocab_size: int) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Byte-level BPE: the 256 byte symbols, merges that make each prompt word one token (with and without
    its leading space, the spaced ones ranked first so they win), then ``t<i>`` fillers up to the size."""
    from tokenizers.pre_tokenizers import ByteLevel

    vocab: dict[str, int] = {ch: i for i, ch in enumerate(sorted(set(ByteLevel.alphabet())))}
    merges: list[tuple[str, str]] = []
    for word in [f"\u0120{w}" for w in WORDS] + list(WORDS):  # \u0120 is byte-level's space
        cur = word[0]
        for ch in word[1:]:
            if cur + ch not in vocab:
                vocab[cur + ch] = len(vocab)
                merges.append((cur, ch))
            cur += ch
    i = 0
    while len(vocab) < vocab_size:
        vocab.setdefault(f"t{i}", len(vocab))
        i += 1
    if len(vocab) > vocab_size:
        raise ValueError(f"vocab_size {vocab_size} is below the stand-in tokenizer's {len(vocab)} tokens")
    return vocab, merges


def tokenizer(vocab_size: int, bos: int | None, eos: int | None) -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab, merges = _vocab(vocab_size)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    names = {i: t for t, i in vocab.items()}
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=names.get(bos) if bos is not None else None,
                                   eos_token=names.get(eos) if eos is not None else None)
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build(name: str, out: str | Path, *, dtype: str = "bfloat16", device: str = "cpu", seed: int = 0,
          overrides: dict[str, Any] | None = None) -> Path:
    """Write catalog model ``name`` (random weights, ``dtype``) and its stand-in tokenizer to ``out``."""
    import torch
    from transformers import AutoModelForCausalLM

    from wattprint.models.build import config_names, read_config, transformers_config

    if name not in config_names():
        raise UnknownNameError("model config", name, config_names(), fix="see wattprint models")
    raw = {**read_config(name), **(overrides or {})}
    vocab = int(raw["vocab_size"])
    for k, fallback in (("bos_token_id", vocab - 1), ("eos_token_id", vocab - 2)):
        if isinstance(raw.get(k), int) and raw[k] >= vocab:  # a shrunk vocabulary: keep the special ids in it
            raw[k] = fallback
    cfg = transformers_config(raw)
    torch.manual_seed(seed)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(cfg, dtype=getattr(torch, dtype))
    # No end token: a random model would stop wherever it happens to emit it. Without one, every engine that
    # loads this folder (continuous batching or generate) runs each request to its max_tokens.
    model.config.eos_token_id = None
    model.generation_config.eos_token_id = None
    out = Path(out)
    model.save_pretrained(out)
    eos = raw.get("eos_token_id")
    tokenizer(int(raw["vocab_size"]), raw.get("bos_token_id"), eos[0] if isinstance(eos, list) else eos
              ).save_pretrained(out)
    params = sum(p.numel() for p in model.parameters())
    about = {"config": name, "overrides": overrides or {}, "weights": "random", "seed": seed, "dtype": dtype,
             "parameters": params, "eos_token_id": None,
             "tokenizer": "stand-in byte-level BPE (wattprint.loadgen.modeldir)"}
    (out / "wattprint.json").write_text(json.dumps(about, indent=1))
    return out


def main(argv: list[str] | None = None) -> None:
    """``python -m wattprint.loadgen.modeldir NAME OUT [--dtype D] [--device D] [--overrides JSON]``: build in a
    process of its own, so that the caller (a load generator) never holds the weights or a CUDA context."""
    import argparse

    p = argparse.ArgumentParser(description="Write a random-weight catalog model folder for transformers serve.")
    p.add_argument("name")
    p.add_argument("out")
    p.add_argument("--dtype", default="bfloat16")
    p.add_argument("--device", default="cpu")
    p.add_argument("--overrides", default="{}", help="JSON of config fields to change (tests shrink models)")
    a = p.parse_args(argv)
    path = build(a.name, a.out, dtype=a.dtype, device=a.device, overrides=json.loads(a.overrides))
    print(json.loads((path / "wattprint.json").read_text()))


if __name__ == "__main__":  # pragma: no cover
    main()
