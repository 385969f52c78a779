"""Run every catalog model (real size, random weights from its kept config) through its task once.

On a GPU this checks that each of the 127 catalog architectures loads, fits and runs at its real
size, prints load and batch times and peak GPU memory, and that generative phases fire. On a CPU, run it
with --max-params to keep to small models. It prints one line per model and a failure list at the end. A
failure (out of memory, an architecture that does not build) is reported with its reason and the run goes on.

    python benchmarks/tasks_catalog_smoke.py --device cuda --dtype bfloat16           # H100, all models
    python benchmarks/tasks_catalog_smoke.py --device cpu --max-params 30e6           # here, degraded
    python benchmarks/tasks_catalog_smoke.py --task image-generation --device cuda --steps 30
    python benchmarks/tasks_catalog_smoke.py --study --device cuda --dtype-all --dtype float32 \
        --safety-checker --steps 50                                                    # the study's 90, fp32

--safety-checker builds and runs the SD 1.x safety checker as the paper preset does (phase safety_check).
"""

from __future__ import annotations

import argparse
import gc
import time


def _peak_gb(device: str) -> float | None:
    if not device.startswith("cuda"):
        return None
    import torch

    return torch.cuda.max_memory_allocated() / 1e9


def run_one(task_name: str, entry, args) -> str:
    import torch

    from wattprint.tasks.base import LoadSettings
    from wattprint.tasks.registry import get_task

    task = get_task(task_name)
    dtype = args.dtype if task.modality == "text" and task.generative else "float32"
    if args.dtype_all:
        dtype = args.dtype
    overrides = {}
    params: dict = {"max_new_tokens": 10, "min_new_tokens": 10} if task.generative else {}
    if task_name == "image-generation":
        params = {"num_inference_steps": args.steps, "safety_checker": args.safety_checker}
        if args.size:
            overrides["size"] = args.size
    if args.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    loaded = task.load(entry, LoadSettings(device=args.device, dtype=dtype, weights="random", overrides=overrides,
                                           params=params))
    t1 = time.perf_counter()
    inputs = task.make_inputs(loaded, task.datasets[0], "synthetic", 2 * args.batch, seed=0)
    marks: list[str] = []

    class Marks:
        def begin(self, name):
            marks.append(name)

        def end(self, name):
            pass

    task.run_batch(loaded, inputs.items[: args.batch], Marks(), params)  # warm-up
    marks.clear()
    t2 = time.perf_counter()
    result = task.run_batch(loaded, inputs.items[args.batch :], Marks(), params)
    t3 = time.perf_counter()
    peak = _peak_gb(args.device)
    del loaded
    gc.collect()
    if args.device.startswith("cuda"):
        torch.cuda.empty_cache()
    return (f"{task_name:28} {entry.name:38} {entry.parameters / 1e6:9.1f}M {dtype:9} load {t1 - t0:6.1f}s "
            f"batch {t3 - t2:7.3f}s peak {'-' if peak is None else f'{peak:6.1f}GB'} phases {','.join(marks) or '-'} "
            f"units {result.units}")


def main() -> int:
    from wattprint.core.errors import WattprintError
    from wattprint.models.catalog import entries
    from wattprint.tasks.registry import task_names

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="bfloat16", help="for generative text models (others fp32)")
    ap.add_argument("--dtype-all", action="store_true", help="use --dtype for every model")
    ap.add_argument("--task", action="append", help="only these tasks (repeatable)")
    ap.add_argument("--max-params", type=float, default=None, help="skip larger models (published count)")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--steps", type=int, default=2, help="denoising steps for image generation")
    ap.add_argument("--size", type=int, default=None, help="image size for image generation (default: model's)")
    ap.add_argument("--study", action="store_true", help="only the Power Hungry Processing study's models")
    ap.add_argument("--safety-checker", action="store_true", help="run SD 1.x safety checkers (as paper does)")
    args = ap.parse_args()
    import torch

    failures = []
    for task_name in args.task or task_names():
        for entry in entries(task_name, study=True if args.study else None):
            if args.max_params and entry.parameters > args.max_params:
                continue
            try:
                print(run_one(task_name, entry, args), flush=True)
            except (RuntimeError, ValueError, TypeError, KeyError, AttributeError, WattprintError,
                    torch.cuda.OutOfMemoryError) as e:  # reported, never swallowed: the list is printed below
                failures.append(f"{task_name} {entry.name}: {type(e).__name__}: {str(e)[:300]}")
                print(f"{task_name:28} {entry.name:38} FAILED {type(e).__name__}: {str(e)[:200]}", flush=True)
                gc.collect()
                if args.device.startswith("cuda"):
                    torch.cuda.empty_cache()
    print(f"\n{len(failures)} failures")
    for f in failures:
        print("  " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
