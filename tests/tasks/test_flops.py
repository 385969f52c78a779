"""FLOPs of fused attention with grouped-query heads (Llama 3, Qwen): counted, not an assertion error."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count  # noqa: E402

from wattprint.tasks.flops import _sdpa_mapping, gqa_sdpa_flops  # noqa: E402


def test_equal_heads_match_torchs_own_formula() -> None:
    q, k, v = (2, 8, 5, 64), (2, 8, 7, 64), (2, 8, 7, 32)
    assert gqa_sdpa_flops(q, k, v) == sdpa_flop_count(q, k, v)


def test_grouped_heads_count_as_every_query_head_doing_the_full_products() -> None:
    q, k, v = (1, 32, 10, 128), (1, 8, 10, 128), (1, 8, 10, 128)
    assert gqa_sdpa_flops(q, k, v) == sdpa_flop_count(q, (1, 32, 10, 128), (1, 32, 10, 128))
    assert gqa_sdpa_flops(q, k, v) == 2 * 32 * 10 * 10 * (128 + 128)


def test_the_counter_counts_a_fused_gqa_kernel_call() -> None:
    # the fused CUDA kernel's op, traced on the meta device; the formula of torch 2.11 (the GPU machine's)
    # asserts on these shapes, later ones count them as below
    op = torch.ops.aten._scaled_dot_product_efficient_attention
    q = torch.empty(1, 4, 6, 16, device="meta")
    kv = torch.empty(1, 2, 6, 16, device="meta")
    with FlopCounterMode(display=False, custom_mapping=_sdpa_mapping()) as counter:
        op(q, kv, kv, None, False)
    assert counter.get_total_flops() == 2 * 4 * 6 * 6 * (16 + 16)
