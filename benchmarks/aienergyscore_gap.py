"""Where does wattprint's ``aienergyscore`` figure part from the AI Energy Score leaderboard's? (GPU machine)

Each part measures apart one phase of what the protocol does (optimum-benchmark, branch energy_star_dev,
``optimum_benchmark/scenarios/energy_star/``; docs/benchmark.md lists the code read, file and line) and writes
its figures as JSON; ``table`` prints them (``reconciliation.py`` sets their sums beside the leaderboard's):

    python benchmarks/aienergyscore_gap.py image --json image.json      # ResNet-18, the protocol's data path
    python benchmarks/aienergyscore_gap.py text --json text-444.json    # distilgpt2 with the transformers on the path
    python benchmarks/aienergyscore_gap.py caption --json caption-444.json   # GIT captions, 100 new tokens each
    python benchmarks/aienergyscore_gap.py preset --samples 500 --json preset.json   # wattprint's own preset
    python benchmarks/aienergyscore_gap.py table image.json text-*.json preset.json

``image`` (needs ``datasets``): 1,000 JPEG images sized like the protocol's dataset, stored as a ``datasets``
Arrow dataset; the protocol's preprocessing (``filter``, ``select``, ``map`` with the image processor,
``writer_batch_size=50``, to an Arrow cache on disk, ``with_format("torch")``) as its own phase; then the
forward pass at batch 1 read the protocol's way (a torch ``DataLoader`` over the Arrow cache, inside the
window) and wattprint's way (tensors in memory), and the Arrow reads alone without the model.
``text``: a decoder (``--model``, distilgpt2 unless named) fp16, batch 1, the protocol's prefill pass (1 new
token) and generate pass (exactly 10), with whichever transformers is importable (the leaderboard's image pins
4.44.0), prompts from memory or, with ``--rows arrow`` and ``datasets``, through the DataLoader as the protocol
reads them; then, outside the windows, the operators one call dispatches per new token (``--count-only``: those
alone, the way to compare transformers versions on a machine without a GPU).
``caption``: a GIT captioner (``--model git-base`` or ``git-large-coco``), fp32, batch 1, exactly 100 new tokens
(the scenario's default for image-to-text), with whichever transformers is importable, and how many times its
image encoder ran per caption: transformers 4.x hands ``pixel_values`` to every decoding step, so the encoder runs
once per new token; transformers 5 drops them after the prefill.

GPU energy is the NVML total-energy counter of GPU 0, the counter the protocol's tracker reads (CodeCarbon
2.5.1, ``codecarbon/core/gpu.py`` ``_get_total_energy_consumption``, GPU ids from ``backend.device_ids: 0``).
Weights are random (built from the configs in src/wattprint/models/configs, as the protocol's own
``backend.no_weights: true`` examples do) and inputs synthetic; each JSON says so.

On the GPU machine (Python 3.12, no ``datasets``, no network) the protocol's stack travels as wheels in the
git-ignored folder ``.gapwhl`` (54 MB; datasets 2.21.0, since the leaderboard's 2.20.0 calls ``np.array(copy=False)``,
which NumPy 2 refuses: 2.21.0's row formatter is 2.20.0's but for that fix, its Arrow writer unchanged); prepare it
on a machine with PyPI access:

    pip download --only-binary=:all: --python-version 3.12 --platform manylinux2014_x86_64 --no-deps -d .gapwhl \
      datasets==2.21.0 pyarrow==17.0.0 pyarrow_hotfix dill==0.3.8 multiprocess==0.70.16 xxhash==3.4.1 \
      fsspec==2024.5.0 huggingface_hub==0.24.5 transformers==4.44.0 tokenizers==0.19.1 \
      requests urllib3 idna certifi charset_normalizer nvidia-ml-py psutil

``GAP_SMOKE=1`` runs any part on the CPU with a few inputs (a check of the path, no figures). Then
``bash benchmarks/device_run.sh gap`` (carry ``.gapwhl``) installs them with ``pip install --no-index
--target`` and runs every part in under 500 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from contextlib import contextmanager
from statistics import fmean

# the protocol dataset's images come from ImageNet, Food-101 (longest side 512) and beans (500x500)
# (AIEnergyScore index.md, Table 1); one size of each in turn
IMAGE_SIZES = ((500, 375), (512, 512), (500, 500))
# text_generation dataset: 369,139 input tokens over 1,000 prompts (AIEnergyScore index.md, Table 1)
PROMPT_MEAN_TOKENS = 369
NEW_TOKENS = 10  # examples/energy_star/text_generation.yaml: min_new_tokens = max_new_tokens = 10
CAPTION_TOKENS = 100  # image-to-text has no settings in its config: the scenario's default, exactly 100 new tokens


class GpuCounter:
    """GPU 0's cumulative energy (NVML, joules); None on a machine without an NVIDIA GPU."""

    def __init__(self) -> None:
        self.handle = None
        self.name = "none"
        try:
            import pynvml

            pynvml.nvmlInit()
            self.handle = pynvml.nvmlDeviceGetHandleByIndex(0)
            self.name = str(pynvml.nvmlDeviceGetName(self.handle))
            self._read = pynvml.nvmlDeviceGetTotalEnergyConsumption
        except Exception as exc:  # no driver, no GPU, no pynvml: time only
            self.name = f"no GPU counter ({type(exc).__name__})"

    def joules(self) -> float | None:
        return None if self.handle is None else self._read(self.handle) / 1000.0


class Phases:
    """Measured windows, each synchronised with the device before and after, as the protocol's tracker does."""

    def __init__(self, device: str) -> None:
        self.device, self.counter = device, GpuCounter()
        self.rows: list[dict] = []

    def sync(self) -> None:
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.synchronize()

    @contextmanager
    def measure(self, name: str, inputs: int, **extra):
        """A window over ``inputs`` inputs; the window may lower the count it yields (``done["inputs"]``)."""
        self.sync()
        e0, t0 = self.counter.joules(), time.perf_counter()
        done = {"inputs": inputs}
        yield done
        self.sync()
        e1, t1 = self.counter.joules(), time.perf_counter()
        inputs = done["inputs"]
        row = {"phase": name, "inputs": inputs, "seconds": t1 - t0,
               "gpu_j": None if e0 is None or e1 is None else e1 - e0, **extra}
        self.rows.append(row)
        print(f"  {name}: {inputs} inputs, {row['seconds']:.2f} s"
              + (f", GPU {row['gpu_j']:.1f} J" if row["gpu_j"] is not None else ""), flush=True)


def _versions() -> dict:
    import importlib

    out: dict[str, str | None] = {"python": platform.python_version()}
    for mod in ("torch", "transformers", "datasets", "pyarrow", "tokenizers", "huggingface_hub"):
        try:
            out[mod] = importlib.import_module(mod).__version__
        except Exception:
            out[mod] = None
    return out


def _write(args: argparse.Namespace, part: str, phases: Phases, **extra) -> None:
    doc = {"part": part, "device": phases.device, "gpu": phases.counter.name, "versions": _versions(),
           "weights": "random", "inputs": "synthetic", "phases": phases.rows, **extra}
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1)


def _idle(phases: Phases, seconds: float) -> None:
    with phases.measure("idle", 0):
        time.sleep(seconds)


# ---- image classification: the protocol's data path ----

def synthetic_jpegs(n: int, seed: int = 0) -> list[bytes]:
    """Photo-like JPEGs (smooth colour fields with grain, quality 90) cycling through IMAGE_SIZES."""
    import io

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        w, h = IMAGE_SIZES[i % len(IMAGE_SIZES)]
        coarse = Image.fromarray(rng.integers(0, 256, (h // 32 + 1, w // 32 + 1, 3), dtype=np.uint8))
        img = np.asarray(coarse.resize((w, h), Image.Resampling.BICUBIC), dtype=np.int16)
        img = np.clip(img + rng.integers(-12, 13, img.shape), 0, 255).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="JPEG", quality=90)
        out.append(buf.getvalue())
    return out


def protocol_image_preprocess(dataset, processor, num_samples: int):
    """The protocol's image preprocessing, step for step (preprocessing_utils.py, image_preprocessing)."""
    dataset = dataset.filter(lambda example: example["image"] != "")
    dataset = dataset.select(range(num_samples))

    def preprocess_function(example):
        processed = processor(example["image"].convert("RGB"))
        return {"pixel_values": processed["pixel_values"][0]}

    return dataset.map(preprocess_function, remove_columns=dataset.features, desc="Running processor on dataset",
                       writer_batch_size=50, batched=False).with_format("torch")


def _kept_config(name: str) -> dict:
    """The catalog's kept architecture config of ``name``, as keyword arguments of its config class."""
    from wattprint.models.build import read_config

    cfg = read_config(name)
    cfg.pop("model_type")
    return cfg


def resnet18(device: str):
    import torch
    from transformers import ResNetConfig, ResNetForImageClassification

    cfg = _kept_config("resnet-18")
    torch.manual_seed(0)
    return ResNetForImageClassification(ResNetConfig(**cfg)).eval().to(device)


def image_part(args: argparse.Namespace) -> None:
    import torch
    from datasets import Dataset, Features, Image, load_from_disk
    from torch.utils.data import DataLoader
    from transformers import ConvNextImageProcessor

    phases = Phases(args.device)
    if args.device.startswith("cuda"):
        torch.zeros(1, device=args.device)  # the CUDA context exists in every window, as in wattprint's
    folder = tempfile.mkdtemp(prefix="gap-image-")
    t0 = time.perf_counter()
    jpegs = synthetic_jpegs(args.samples)
    rows = [{"bytes": b, "path": None} for b in jpegs]
    Dataset.from_dict({"image": rows}, features=Features({"image": Image()})).save_to_disk(f"{folder}/src")
    raw = load_from_disk(f"{folder}/src")  # memory-mapped Arrow, as load_dataset leaves a hub dataset
    jpeg_mb = sum(len(b) for b in jpegs) / 1e6
    print(f"image: {args.samples} JPEGs ({jpeg_mb:.0f} MB) built in {time.perf_counter() - t0:.1f} s", flush=True)
    # ConvNeXt processor: the class microsoft/resnet-18 declares (shortest edge 224, crop 0.875, bicubic)
    processor = ConvNextImageProcessor(size={"shortest_edge": 224}, crop_pct=0.875, resample=3)
    _idle(phases, args.idle_seconds)
    with phases.measure("preprocess", args.samples):
        dataset = protocol_image_preprocess(raw, processor, args.samples)
    model = resnet18(args.device)
    sample = {"pixel_values": dataset[:1]["pixel_values"].to(args.device)}
    with torch.inference_mode():
        for _ in range(10):  # config.py: warmup_runs = 10
            model(**sample)
    n = min(args.forward_samples, args.samples)
    subset = dataset.select(range(n))
    for k in range(args.iterations):
        with phases.measure("forward, DataLoader over the Arrow cache (protocol)", n, iteration=k):
            for inputs in DataLoader(subset, batch_size=1):
                inputs = {key: v.to(args.device) for key, v in inputs.items()}
                with torch.inference_mode():
                    model(**inputs)
    with phases.measure("Arrow reads alone, no model", n):
        in_memory = [b["pixel_values"] for b in DataLoader(subset, batch_size=1)]
    for k in range(args.iterations):
        with phases.measure("forward, tensors in memory (wattprint)", n, iteration=k):
            for pixels in in_memory:
                with torch.inference_mode():
                    model(pixel_values=pixels.to(args.device))
    _write(args, "image", phases, model="resnet-18", jpeg_mb=jpeg_mb, processor="ConvNextImageProcessor")


# ---- text generation: the protocol's generation loop with this environment's transformers ----

def prompt_lengths(n: int) -> list[int]:
    """Deterministic lengths 40..698 tokens, mean PROMPT_MEAN_TOKENS (the dataset's spread is not published)."""
    lo = 40
    span = 2 * (PROMPT_MEAN_TOKENS - lo)
    return [lo + (i * 7919) % (span + 1) for i in range(n)]


def causal_lm(name: str, device: str):
    """A catalog decoder (distilgpt2, the GPT-2 family, OPT...) built from its kept config, random weights."""
    import torch
    from transformers import AutoModelForCausalLM

    from wattprint.models.build import read_config, transformers_config

    torch.manual_seed(0)
    dtype = torch.float16 if device.startswith("cuda") else torch.float32  # AIEnergyScore: fp16 for generation
    # from_config without the dtype keyword build_transformers passes: transformers 4.44 calls it torch_dtype
    model = AutoModelForCausalLM.from_config(transformers_config(read_config(name)))
    return model.to(device=device, dtype=dtype).eval()  # type: ignore[call-arg]


def dispatch_counts(model, inputs: dict, gen: dict) -> dict:
    """Operators dispatched by one prefill call (1 new token) and one generate call (NEW_TOKENS), counted by a
    torch dispatch mode outside any measured window: all of them, and those that are not views (each of which
    launches work on the device). A batch-1 loop waits on the host between them, so their number per new token
    is what a version of transformers costs the host, whatever the card."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    class Count(TorchDispatchMode):
        def __init__(self) -> None:
            super().__init__()
            self.all = self.compute = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.all += 1
            self.compute += not func.is_view
            return func(*args, **(kwargs or {}))

    out = {}
    for name, kw in (("prefill", {**gen, "max_new_tokens": 1, "min_new_tokens": 1}), ("generate", gen)):
        with torch.inference_mode(), Count() as c:
            model.generate(**inputs, **kw)
        out[f"{name}_ops"], out[f"{name}_compute_ops"] = c.all, c.compute
    steps = NEW_TOKENS - 1  # the generate call's decode steps beyond the prefill call's one token
    out["ops_per_new_token"] = (out["generate_ops"] - out["prefill_ops"]) / steps
    out["compute_ops_per_new_token"] = (out["generate_compute_ops"] - out["prefill_compute_ops"]) / steps
    return out


def _prompt_rows(n: int, vocab: int, rows: str):
    """Batch-1 inputs: a list of dicts of tensors, or a DataLoader over a torch-formatted Arrow dataset."""
    import torch

    g = torch.Generator().manual_seed(0)
    ids = [torch.randint(0, vocab, (1, L), generator=g) for L in prompt_lengths(n)]
    if rows == "memory":
        return [{"input_ids": x, "attention_mask": torch.ones_like(x)} for x in ids]
    from datasets import Dataset
    from torch.utils.data import DataLoader

    ds = Dataset.from_dict({"input_ids": [x[0].tolist() for x in ids],
                            "attention_mask": [[1] * x.shape[1] for x in ids]}).with_format("torch")
    return DataLoader(ds, batch_size=1)


def text_part(args: argparse.Namespace) -> None:
    import torch

    from wattprint.bench.host_probe import probe

    phases = Phases(args.device)
    model = causal_lm(args.model, args.device)
    # scenario.py TEXT_GENERATION_DEFAULT_KWARGS, overridden by text_generation.yaml's 10 new tokens
    gen = {"num_return_sequences": 1, "temperature": 1.0, "do_sample": False, "use_cache": True, "num_beams": 1,
           "max_new_tokens": NEW_TOKENS, "min_new_tokens": NEW_TOKENS}
    rows = _prompt_rows(args.prompts, model.config.vocab_size, args.rows)
    first = {k: v.to(args.device) for k, v in next(iter(rows)).items()}
    with torch.inference_mode():
        for _ in range(1 if args.count_only else 10):  # warmup_runs = 10, 2 new tokens each, then the full kwargs
            model.generate(**first, **{**gen, "max_new_tokens": 2, "min_new_tokens": 2})
        model.generate(**first, **gen)
    if not args.count_only:
        _idle(phases, args.idle_seconds)
    tag = f"transformers {_versions()['transformers']}, rows from {args.rows}"
    for k in range(0 if args.count_only else args.iterations):
        for name, kw in (("prefill", {**gen, "max_new_tokens": 1, "min_new_tokens": 1}), ("generate", gen)):
            host = probe(args.device).get("dispatch_us")  # the host's speed just before, as the runner records it
            with phases.measure(f"{name} ({tag})", args.prompts, iteration=k, host_dispatch_us=host):
                for inputs in rows:
                    inputs = {key: v.to(args.device) for key, v in inputs.items()}
                    with torch.inference_mode():
                        model.generate(**inputs, **kw)
    counts = dispatch_counts(model, first, gen)
    print(f"  operators per new token: {counts['ops_per_new_token']:.0f} "
          f"({counts['compute_ops_per_new_token']:.0f} not views)", flush=True)
    _write(args, "text", phases, model=args.model, rows=args.rows, new_tokens=NEW_TOKENS,
           prompt_tokens=sum(prompt_lengths(args.prompts)), layers=getattr(model.config, "num_hidden_layers", None),
           dispatch=counts)


# ---- image captioning: GIT's generation loop with this environment's transformers ----

def git_captioner(name: str, device: str):
    import torch
    from transformers import GitConfig, GitForCausalLM

    cfg = _kept_config(name)
    torch.manual_seed(0)
    return GitForCausalLM(GitConfig(**cfg)).to(device).eval()  # fp32, as the protocol runs image-to-text


def caption_part(args: argparse.Namespace) -> None:
    import torch

    phases = Phases(args.device)
    model = git_captioner(args.model, args.device)
    calls = [0]
    model.git.image_encoder.register_forward_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    size = model.config.vision_config.image_size
    g = torch.Generator().manual_seed(0)
    # pixels as the processor leaves them (normalised, about unit variance); their values do not change the work
    images = [torch.randn(1, 3, size, size, generator=g) for _ in range(args.images)]
    gen = {"do_sample": False, "num_beams": 1, "use_cache": True,
           "max_new_tokens": CAPTION_TOKENS, "min_new_tokens": CAPTION_TOKENS}
    with torch.inference_mode():
        for _ in range(3):
            model.generate(pixel_values=images[0].to(args.device), **{**gen, "max_new_tokens": 2, "min_new_tokens": 2})
    _idle(phases, args.idle_seconds)
    tag = f"transformers {_versions()['transformers']}"
    per_caption = []
    for k in range(args.iterations):
        done, t0 = 0, time.perf_counter()
        with phases.measure(f"generate ({tag})", args.images, iteration=k) as window:
            for pixels in images:  # the first --images, or fewer (3 at least) once --seconds have passed
                calls[0] = 0
                with torch.inference_mode():
                    out = model.generate(pixel_values=pixels.to(args.device), **gen)
                per_caption.append(calls[0])
                done += 1
                if done >= 3 and time.perf_counter() - t0 > args.seconds:
                    break
            window["inputs"] = done
    new = int(out.shape[1]) - 1  # the sequence starts from the BOS token GIT's generate puts first
    print(f"  image encoder runs per caption: {sorted(set(per_caption))}; new tokens {new}", flush=True)
    _write(args, "caption", phases, model=args.model, new_tokens=CAPTION_TOKENS, image_size=size,
           encoder_runs_per_caption=fmean(per_caption), generated_new_tokens=new)


# ---- wattprint's own aienergyscore preset ----

def preset_part(args: argparse.Namespace) -> None:
    from wattprint.bench.plan import expand
    from wattprint.bench.runner import run_job
    from wattprint.bench.workflow import ARROW_NOTE
    from wattprint.store.sqlite import Store

    out = []
    base = {"device": args.device, "samples": args.samples, "repeats": args.repeats}
    with Store(args.store) as store:
        for task, model in (("image-classification", "resnet-18"), ("text-generation", "distilgpt2")):
            (job,) = expand("aienergyscore", [task], [model], base)
            done = [r for r in run_job(job, store=store) if r.status == "finished"]
            if not done:
                print(f"{model}: no finished repeat", flush=True)
                continue
            r = done[0]
            scores = [x.score_wh_per_1000 for x in done if x.score_wh_per_1000 is not None]
            row = {"model": model, "inputs": r.inferences, "repeats": len(done), "dtype": r.dtype,
                   "preprocess": r.settings.get("preprocess"), "arrow_reads": ARROW_NOTE in r.warnings,
                   "preprocess_gpu_j": r.preprocess_gpu_energy_j, "preprocess_s": r.preprocess_duration_s,
                   "window_gpu_j": fmean(x.gpu_energy_j for x in done if x.gpu_energy_j is not None)
                   if any(x.gpu_energy_j is not None for x in done) else None,
                   "window_s": fmean(x.duration_s for x in done), "generated_tokens": r.generated_tokens,
                   "score_wh_per_1000": fmean(scores) if len(scores) == len(done) else None}
            out.append(row)
            print(f"  {model}: {row}", flush=True)
            if args.json:  # after each model, so a part cut for time keeps what finished
                with open(args.json, "w", encoding="utf-8") as f:
                    json.dump({"part": "preset", "versions": _versions(), "rows": out}, f, indent=1)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="part", required=True)
    for name in ("image", "text", "caption", "preset"):
        p = sub.add_parser(name)
        p.add_argument("--device", default="cuda", help="cpu only to check the script (no GPU energy then)")
        p.add_argument("--json", default=None, help="write the figures here")
        p.add_argument("--idle-seconds", type=float, default=5.0)
        p.add_argument("--iterations", type=int, default=2, help="passes over the inputs (the protocol: 10)")
    img = sub.choices["image"]
    img.add_argument("--samples", type=int, default=1000)
    img.add_argument("--forward-samples", type=int, default=1000, help="inputs per forward pass")
    txt = sub.choices["text"]
    txt.add_argument("--prompts", type=int, default=300)
    txt.add_argument("--rows", choices=("memory", "arrow"), default="memory")
    txt.add_argument("--model", default="distilgpt2", help="a catalog decoder (distilgpt2, gpt2-xl, opt-1.3b...)")
    txt.add_argument("--count-only", action="store_true", help="only the operators per new token, no windows")
    cap = sub.choices["caption"]
    cap.add_argument("--model", default="git-base", help="a GIT captioner of the catalog (git-base, git-large-coco)")
    cap.add_argument("--images", type=int, default=50)
    cap.add_argument("--seconds", type=float, default=60.0, help="a pass stops after this, with 3 images at least")
    pre = sub.choices["preset"]
    pre.add_argument("--samples", type=int, default=500)
    pre.add_argument("--repeats", type=int, default=2)
    pre.add_argument("--store", default="aienergyscore_gap.db")
    tab = sub.add_parser("table")
    tab.add_argument("paths", nargs="+")
    tab.add_argument("--csv", default=None, help="also write the phases as benchmarks/data/aienergyscore_phases.csv")
    tab.add_argument("--keep-others", action="store_true",
                     help="keep the rows --csv already holds for models these parts did not measure")
    args = ap.parse_args(argv)
    if os.environ.get("GAP_SMOKE") and args.part != "table":
        # a check of the whole path on a CPU machine: few inputs, no GPU figures
        args.device, args.idle_seconds, args.iterations = "cpu", 0.5, 1
        for name, value in (("samples", 30), ("forward_samples", 10), ("prompts", 3), ("repeats", 1), ("images", 2)):
            if hasattr(args, name):
                setattr(args, name, value if name != "samples" or args.part == "image" else 3)
    if args.part == "table":
        from aienergyscore_gap_table import table, write_csv

        print(table(args.paths))
        if args.csv:
            write_csv(args.paths, args.csv, source=os.environ.get("GAP_SOURCE", "benchmarks/aienergyscore_gap.py"),
                      keep_others=args.keep_others)
        return
    print(f"{args.part}: {_versions()}", flush=True)
    {"image": image_part, "text": text_part, "caption": caption_part, "preset": preset_part}[args.part](args)


if __name__ == "__main__":
    main()
