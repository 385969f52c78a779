"""What reading one prepared input back from an Arrow file costs on this host, one change at a time.

The aienergyscore preset reads every prepared input back from an Arrow file inside each repeat, through datasets'
torch formatter, as the AI Energy Score protocol reads its cache (src/wattprint/bench/arrow_inputs.py). For an
image model that read is most of the repeat, and the GPU's idle power over it is most of the figure. This script
builds the job's own rows (a catalog image model of any task: classifier, detector, captioner; random weights,
synthetic images at its dataset's sizes, the model's processor) and times, per input, the read alone and variants
that each change one thing: datasets' per-tensor check for
torchvision's VideoReader left in (where this torchvision lacks it, huggingface/datasets#8085; the reads skip it),
the protocol's row shape (no batch dimension), the file on /dev/shm, one torch thread, the meter's sampler running
as in a benchmark, CUDA initialised, the model call after each read (the repeat's loop) with and without the meter,
the model call on tensors in memory, and optionally another datasets version (--alt-site, a folder that holds it;
run in a subprocess).

Each line gives wall ms per input and the main thread's CPU ms per input: a wall time well above the CPU time means
the loop waited (on the GIL, page faults or the device) rather than computed.

    python3 benchmarks/arrow_read.py --device cuda --json out.json           # on the GPU machine, ~30-60 s
    python3 benchmarks/arrow_read.py --device cpu --rows 60                   # here
    python3 benchmarks/arrow_read.py --device cuda --model yolos-tiny --rows 40   # a detector's larger tensors
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def _versions() -> dict[str, str]:
    import datasets
    import numpy
    import pyarrow
    import torch

    return {"python": platform.python_version(), "torch": torch.__version__, "datasets": datasets.__version__,
            "pyarrow": pyarrow.__version__, "numpy": numpy.__version__, "cpus": str(os.cpu_count()),
            "torch_threads": str(torch.get_num_threads()), "datasets_file": datasets.__file__}


def _time(fn: Any, n: int) -> tuple[float, float]:
    """Run ``fn(i)`` for i < n twice (the first pass warms); wall and main-thread CPU ms per call of the second."""
    for i in range(n):
        fn(i)
    w0, c0 = time.perf_counter(), time.thread_time()
    for i in range(n):
        fn(i)
    return (time.perf_counter() - w0) / n * 1e3, (time.thread_time() - c0) / n * 1e3


def _rows(prepared: list[Any], folder: str | None = None) -> Any:
    from wattprint.bench.arrow_inputs import ArrowInputs

    old = tempfile.tempdir
    tempfile.tempdir = folder  # ArrowInputs writes under tempfile's folder
    try:
        return ArrowInputs(prepared)
    finally:
        tempfile.tempdir = old


def _load(model: str, device: str) -> tuple[Any, Any]:
    from wattprint.models.catalog import get_entry
    from wattprint.tasks.base import LoadSettings
    from wattprint.tasks.registry import get_task, task_names

    image_tasks = [t for t in task_names() if get_task(t).modality.startswith("image")]  # images in, as prepared
    entry = get_entry(model)
    name = next((t for t in entry.tasks if t in image_tasks), None)
    if name is None:
        raise SystemExit(f"arrow_read.py: {model} is a {'/'.join(entry.tasks)} model; pick one of an image task "
                         f"({', '.join(image_tasks)}), e.g. resnet-18 or yolos-small")
    task = get_task(name)
    loaded = task.load(get_entry(model, task=name), LoadSettings(device=device, dtype="float32", weights="random"))
    return task, loaded


def _first_tensor(obj: Any) -> Any:
    """The pixels of a prepared batch: the tensor itself, a mapping's ``pixel_values``, else the first tensor
    inside a tuple, list or mapping."""
    import torch

    if isinstance(obj, torch.Tensor):
        return obj
    if hasattr(obj, "values") and isinstance(obj.get("pixel_values"), torch.Tensor):
        return obj["pixel_values"]
    items = obj.values() if hasattr(obj, "values") else obj if isinstance(obj, tuple | list) else ()
    return next((t for t in (_first_tensor(v) for v in items) if t is not None), None)


def _meter(device: str) -> Any:
    from wattprint.bench.runner import BENCH_COUNTER_READS_PER_S
    from wattprint.meter.meter import Meter

    if device.startswith("cuda"):  # as a benchmark opens it: the counter read at every refresh
        return Meter(gpus="visible", counter_reads_per_s=BENCH_COUNTER_READS_PER_S)
    return Meter(gpus=None)


def _under_meter(device: str, fn: Any, n: int) -> tuple[float, float]:
    meter = _meter(device)
    try:
        meter.begin("arrow_read")
        out = _time(fn, n)
        meter.end("arrow_read")
    finally:
        meter.close()
    return out


def measure(args: argparse.Namespace) -> list[dict[str, Any]]:
    import torch

    from wattprint.tasks.base import NullPhases

    if args.rows_file:  # --alt-site's subprocess: the parent's rows, no model (its transformers may not import)
        import numpy

        prepared = [torch.from_numpy(a) for a in numpy.load(args.rows_file)]
    else:
        task, loaded = _load(args.model, "cpu")
        items = task.make_inputs(loaded, task.dataset(None), "synthetic", args.rows, seed=0).items
        prepared = [task.prepare(loaded, [x], {}) for x in items]  # one batch of one input per row, as the job writes
    # a classifier's prepared batch is the pixel tensor itself; a detector's or captioner's holds it with more
    shape = tuple(_first_tensor(prepared[0]).shape)
    plain = all(isinstance(p, torch.Tensor) for p in prepared)
    out: list[dict[str, Any]] = []

    def add(name: str, wall_cpu: tuple[float, float]) -> None:
        out.append({"variant": name, "wall_ms": round(wall_cpu[0], 3), "cpu_ms": round(wall_cpu[1], 3),
                    "shape": list(shape)})
        print(f"  {name:58s} {wall_cpu[0]:8.2f} ms wall {wall_cpu[1]:8.2f} ms CPU per input", flush=True)

    from wattprint.bench.arrow_inputs import video_check_is_dead

    rows = _rows(prepared)
    n = len(rows)
    add("read (the job's rows: batch of 1)", _time(lambda i: rows[i], n))
    if video_check_is_dead():  # torchvision loaded without VideoReader: what the reads cost before they skipped it
        add("read, datasets' VideoReader check left in (datasets#8085)", _time(lambda i: rows._table[i], n))
    if args.rows_file:
        return out
    if args.alt_site and not plain:
        print("  --alt-site: only for a classifier's plain pixel tensors; left out for this model")
    elif args.alt_site:
        import numpy

        keep = Path(tempfile.mkdtemp(prefix="arrow-read-")) / "rows.npy"
        numpy.save(keep, torch.stack(prepared).numpy())
        out += alt_site(args, keep)
    if plain:
        flat = _rows([p[0] for p in prepared])
        add("read, rows without the batch dimension (the protocol's)", _time(lambda i: flat[i], n))
    if Path("/dev/shm").is_dir():
        shm = _rows(prepared, "/dev/shm")
        add("read, file on /dev/shm", _time(lambda i: shm[i], n))
        del shm
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    add("read, 1 torch thread", _time(lambda i: rows[i], n))
    torch.set_num_threads(threads)
    add("read, meter sampler running (benchmark settings)", _under_meter(args.device, lambda i: rows[i], n))
    if not args.device.startswith("cuda"):
        return out
    task, loaded = _load(args.model, args.device)
    add("read, CUDA initialised and the model on the GPU", _time(lambda i: rows[i], n))
    sync = torch.cuda.synchronize

    def repeat_step(i: int) -> None:
        task.run_prepared(loaded, rows[i], NullPhases(), {})
        sync()

    def in_memory(i: int) -> None:
        task.run_prepared(loaded, prepared[i], NullPhases(), {})
        sync()

    add("read + model call + sync (the repeat's loop)", _time(repeat_step, n))
    add("read + model call + sync, inside a meter window (as run)", _under_meter(args.device, repeat_step, n))
    add("model call + sync on tensors in memory", _time(in_memory, n))
    return out


def alt_site(args: argparse.Namespace, rows_file: Path) -> list[dict[str, Any]]:
    """The read alone with the datasets found in ``--alt-site`` first on the path (a subprocess, same rows)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([args.alt_site, os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, __file__, "--device", "cpu", "--rows-file", str(rows_file), "--json", "-"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        print(f"  --alt-site {args.alt_site}: failed: {done.stderr.strip().splitlines()[-1:]}")
        return []
    result = json.loads(done.stdout.strip().splitlines()[-1])
    for r in result["variants"]:
        r["variant"] = f"read, datasets {result['versions']['datasets']} / pyarrow {result['versions']['pyarrow']}"
        print(f"  {r['variant']:58s} {r['wall_ms']:8.2f} ms wall {r['cpu_ms']:8.2f} ms CPU per input")
    return list(result["variants"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--model", default="resnet-18",
                    help="a catalog image model: classifier, detector or captioner (default resnet-18)")
    ap.add_argument("--rows", type=int, default=150, help="inputs (rows) per variant, each read twice")
    ap.add_argument("--alt-site", help="a folder with another datasets version, timed in a subprocess")
    ap.add_argument("--rows-file", help=argparse.SUPPRESS)
    ap.add_argument("--json", help="write the results here ('-': last line of stdout)")
    args = ap.parse_args()
    versions = _versions()
    if args.json != "-":
        print(" ".join(f"{k} {v}" for k, v in versions.items() if k != "datasets_file"))
        print(f"{args.model}, {args.rows} synthetic inputs, on {args.device}:")
    variants = measure(args)
    result = {"model": args.model, "rows": args.rows, "device": args.device, "versions": versions,
              "variants": variants}
    if args.json == "-":
        print(json.dumps(result))
    elif args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
