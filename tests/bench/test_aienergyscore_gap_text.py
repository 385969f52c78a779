"""benchmarks/aienergyscore_gap.py text: any catalog decoder, and the operators one call dispatches per new token,
the figure that compares transformers versions' host work without a GPU."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import aienergyscore_gap as gap  # noqa: E402
import aienergyscore_gap_table as gt  # noqa: E402

GEN = {"do_sample": False, "num_beams": 1, "use_cache": True, "max_new_tokens": gap.NEW_TOKENS,
       "min_new_tokens": gap.NEW_TOKENS, "pad_token_id": 0}


def _tiny_gpt2(layers: int):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    cfg = transformers.GPT2Config(n_layer=layers, n_embd=32, n_head=2, n_positions=64, vocab_size=50)
    return transformers.GPT2LMHeadModel(cfg).eval()


def test_operators_per_new_token_grow_with_the_layers_by_the_same_amount_each():
    import torch

    x = torch.randint(0, 50, (1, 8))
    inputs = {"input_ids": x, "attention_mask": torch.ones_like(x)}
    counts = {n: gap.dispatch_counts(_tiny_gpt2(n), inputs, GEN) for n in (2, 4, 6)}
    per = {n: c["ops_per_new_token"] for n, c in counts.items()}
    assert per[4] - per[2] == per[6] - per[4] > 0  # each layer adds its own operators to every decoding step
    for c in counts.values():
        assert c["generate_ops"] > c["prefill_ops"] > 0
        assert 0 < c["compute_ops_per_new_token"] < c["ops_per_new_token"]  # views launch nothing
        assert c["ops_per_new_token"] == (c["generate_ops"] - c["prefill_ops"]) / (gap.NEW_TOKENS - 1)


@pytest.mark.slow
def test_count_only_builds_a_catalog_decoder_and_writes_its_counts_without_windows(tmp_path):
    out = tmp_path / "text.json"
    gap.main(["text", "--device", "cpu", "--model", "distilgpt2", "--count-only", "--prompts", "1",
              "--json", str(out)])
    doc = json.loads(out.read_text())
    assert doc["model"] == "distilgpt2" and doc["layers"] == 6 and doc["weights"] == "random"
    assert doc["phases"] == []  # nothing timed
    assert doc["dispatch"]["ops_per_new_token"] > doc["dispatch"]["compute_ops_per_new_token"] > 6


def test_the_table_states_the_counts_and_the_host_probe(tmp_path):
    doc = {"part": "text", "model": "gpt2-xl", "gpu": "NVIDIA H200", "new_tokens": gap.NEW_TOKENS,
           "versions": {"python": "3.12", "torch": "2.11", "transformers": "4.44.0", "datasets": None,
                        "pyarrow": None},
           "phases": [{"phase": "generate (transformers 4.44.0, rows from memory)", "inputs": 60, "seconds": 20.0,
                       "gpu_j": 3000.0, "iteration": k, "host_dispatch_us": us} for k, us in ((0, 9.0), (1, 11.0))],
           "dispatch": {"ops_per_new_token": 1876.0, "compute_ops_per_new_token": 1049.0}}
    path = tmp_path / "text-gpt2-xl-old.json"
    path.write_text(json.dumps(doc))
    text = gt.table([str(path)])
    assert "1876 operators dispatched per new token, 1049 of them not views" in text
    assert "the host probe read 10 µs per dispatch (mean of 2)" in text
    assert "33.3 ms/new token" in text  # 20 s over 60 prompts of 10 new tokens
