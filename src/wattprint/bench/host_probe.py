"""How fast the host drives the device: a few milliseconds of fixed work before each repeat, kept in its record.

A batch-1 loop on a large GPU is often bound by its host: Python and the framework's dispatch issue one small
kernel after another and the card waits between them, so its energy is its power times a wall time the CPU sets.
The same job on the same kind of card then reads differently on two hosts (the H200 reference measured x0.70 to
x1.03 between two lent machines whose CPUs reported the same name), and on one host from one repeat to the next
(Flan-T5-base's repeats of the same 13 inputs took 1.7 to 3.1 s, in runs of similar values). Two numbers, each
the best of a few rounds, so that a stray interruption does not count and a sustained slowdown does:

- ``dispatch_us``: microseconds per tiny in-place tensor op on the job's device, queued back to back and then
  synchronised (on a GPU: the framework's dispatch and the kernel launch, what a launch-bound loop pays per
  kernel);
- ``python_ns``: nanoseconds per iteration of a fixed pure-Python loop (the interpreter's speed on this core).

Lower is faster. They compare hosts and moments, not models: a repeat timed where ``dispatch_us`` was 30% lower
ran its batch-1 loop on a faster host.
"""

from __future__ import annotations

import time
from typing import Any

DISPATCH_OPS = 1000  # ~5 ms a round on a GPU host, a few on a CPU: under 1% of a 2.5 s repeat in all
PYTHON_ITERATIONS = 50_000
ROUNDS = 3


def _python_loop(n: int) -> float:
    t0 = time.perf_counter()
    acc = 0
    for i in range(n):
        acc += i & 7
    return (time.perf_counter() - t0) / n


def _dispatch(torch: Any, device: str, n: int) -> float:
    x = torch.zeros(1, device=device)
    if x.device.type == "cuda":
        sync = lambda: torch.cuda.synchronize(x.device)  # noqa: E731
    elif x.device.type != "cpu" and hasattr(torch, "accelerator"):  # mps, xpu...: the current accelerator's queue
        sync = torch.accelerator.synchronize
    else:
        sync = lambda: None  # noqa: E731
    sync()
    t0 = time.perf_counter()
    for _ in range(n):
        x.add_(1.0)
    sync()
    return (time.perf_counter() - t0) / n


def probe(device: str) -> dict[str, Any]:
    """``{"dispatch_us", "python_ns", "device", "rounds"}`` for ``device`` ("cpu", "cuda", "cuda:1"); where torch
    is missing or the device cannot run the op, ``dispatch_us`` is left out and ``note`` says why."""
    out: dict[str, Any] = {"device": device, "rounds": ROUNDS}
    out["python_ns"] = round(min(_python_loop(PYTHON_ITERATIONS) for _ in range(ROUNDS)) * 1e9, 2)
    try:
        import torch

        _dispatch(torch, device, 50)  # first use: allocator, kernels loaded
        out["dispatch_us"] = round(min(_dispatch(torch, device, DISPATCH_OPS) for _ in range(ROUNDS)) * 1e6, 3)
    except Exception as e:  # noqa: BLE001 - a probe never stops a job; the record says why it is missing
        out["note"] = f"dispatch not timed: {type(e).__name__}: {str(e).splitlines()[0][:120] if str(e) else ''}"
    return out
