"""FLOPs of a batch: counted with torch's FLOP counter (outside measured windows), or the stated analytic
approximation 2 x parameters x tokens (one multiply-add per weight per processed token; attention score
FLOPs and embeddings' lookups are ignored)."""

from __future__ import annotations

from typing import Any

ANALYTIC = "analytic: 2 x parameters x tokens"


def analytic(parameters: int, tokens: int) -> tuple[float, str]:
    return 2.0 * parameters * tokens, ANALYTIC


def count_batch_flops(task: Any, loaded: Any, batch: list[Any], params: dict[str, Any],
                      phases: Any) -> tuple[float | None, str]:
    """Run ``task.run_batch`` once under FlopCounterMode with ``phases`` (null phases: nothing measured) and
    return the FLOPs counted."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False, custom_mapping=_sdpa_mapping())
    # The counter's module tracker hooks autograd on parameters that require grad, which inference mode
    # (used inside run_batch) forbids; switch requires_grad off for the count and restore it after.
    params_grad = [(p, p.requires_grad) for p in _parameters(loaded.model)]
    for p, _ in params_grad:
        p.requires_grad_(False)
    try:
        with counter, torch.inference_mode():
            task.run_batch(loaded, batch, phases, params)
    except (RuntimeError, NotImplementedError, TypeError, AttributeError, AssertionError) as e:
        return None, f"not counted: {type(e).__name__}: {str(e)[:120]}"
    finally:
        for p, flag in params_grad:
            p.requires_grad_(flag)
    return float(counter.get_total_flops()), "counted"


def gqa_sdpa_flops(query_shape: Any, key_shape: Any, value_shape: Any, *args: Any, **kwargs: Any) -> int:
    """FLOPs of one fused attention call (Q K^T, then weights x V): 2 x b x h x s_q x s_k x (d_qk + d_v).

    Own formula because torch's asserts that keys and values have as many heads as queries, which grouped-query
    attention (Llama 3, Qwen: fewer key/value heads, shared) breaks on CUDA's fused kernels; every query head
    still does the full products, so the query's head count is the one that counts."""
    b, h, s_q, d_qk = query_shape
    s_k, d_v = key_shape[-2], value_shape[-1]
    return 2 * b * h * s_q * s_k * (d_qk + d_v)


def _sdpa_mapping() -> dict[Any, Any]:
    import torch

    aten = torch.ops.aten
    ops = ("_scaled_dot_product_efficient_attention", "_scaled_dot_product_flash_attention",
           "_scaled_dot_product_cudnn_attention")
    return {getattr(aten, name): gqa_sdpa_flops for name in ops if hasattr(aten, name)}


def _parameters(model: Any) -> list[Any]:
    import torch

    if isinstance(model, torch.nn.Module):
        return list(model.parameters())
    mods = getattr(model, "components", {}) or {}  # a diffusers pipeline
    return [p for m in mods.values() if hasattr(m, "parameters") for p in m.parameters()]
