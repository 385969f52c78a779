"""The pipeline driver: a task's batches run through ``transformers.pipeline()``, as the Power Hungry Processing
study ran every model (sashavor/co2_inference, code/*: one pipeline call per input).

The pipeline is built from the model, tokenizer and processor the task already loaded (random weights offline
work the same; nothing is fetched from the hub). A pipeline call tokenizes or image-processes its input, runs
the model and post-processes the output: the whole call sits inside the measured inference window. Generation
keeps its prefill/decode edge (marked from inside ``generate`` by a logits processor), so through a pipeline
"prefill" also holds the pipeline's preprocessing and "decode" its post-processing.

Where transformers has no pipeline that fits a task or a model, the task runs direct and the record says why.
"""

from __future__ import annotations

from typing import Any

from wattprint.tasks import _generate
from wattprint.tasks.base import BatchResult, LoadedModel, Phases
from wattprint.tasks.flops import analytic

DRIVERS = ("direct", "pipeline")
DIFFUSERS = "diffusers"  # a task whose direct path already is a diffusers pipeline call
WINDOW = "one call per batch, its pre- and post-processing inside the measured window"


def no_pipeline(name: str) -> str:
    """Why a task cannot run through ``name``: this transformers has no such pipeline."""
    import transformers

    return f"transformers {transformers.__version__} has no {name!r} pipeline"


def missing(name: str) -> str | None:
    """None where this transformers has the pipeline ``name``, else the reason it cannot be used."""
    from transformers.pipelines import SUPPORTED_TASKS

    return None if name in SUPPORTED_TASKS else no_pipeline(name)


def seq2seq(loaded: LoadedModel) -> bool:
    return bool(getattr(loaded.model.config, "is_encoder_decoder", False))


def generation_task(loaded: LoadedModel) -> tuple[str | None, str]:
    """The pipeline of a language model answering by generation: "text-generation" for a decoder-only model;
    an encoder-decoder (Flan-T5) needs "text2text-generation", which transformers 5 removed."""
    if seq2seq(loaded):
        return None, no_pipeline("text2text-generation")
    return "text-generation", ""


def build(loaded: LoadedModel, task: str, **parts: Any) -> Any:
    """``transformers.pipeline(task)`` around the loaded model and ``parts`` (tokenizer=, image_processor=...).

    The pipeline's ``_forward`` is wrapped to keep what reached the model and what it returned in
    ``pipe.wattprint_seen`` (the pipeline's own results hold only text, labels or boxes: token counts come
    from here). The wrapper only appends references; it adds no work to the measured call."""
    import transformers

    make: Any = transformers.pipeline  # typed per literal task name; ours is a variable
    pipe = make(task, model=loaded.model, device=loaded.device, **parts)
    inner = pipe._forward
    seen: list[tuple[Any, Any]] = []

    def forward(model_inputs: Any, **kw: Any) -> Any:
        out = inner(model_inputs, **kw)
        seen.append((model_inputs, out))
        return out

    pipe._forward = forward
    pipe.wattprint_seen = seen
    return pipe


def image_parts(loaded: LoadedModel) -> dict[str, Any]:
    proc = loaded.processor
    return {"image_processor": getattr(proc, "image_processor", proc)}


def call(pipe: Any, inputs: list[Any], batch_size: int | None = None, **kw: Any) -> list[Any]:
    """One pipeline call on a batch, batched as given (``batch_size`` None: the whole batch in one forward
    pass); a list of per-input results."""
    pipe.wattprint_seen.clear()
    out = pipe(inputs, batch_size=batch_size or len(inputs), **kw)
    _generate.sync(str(pipe.device))
    return list(out)


def input_tokens(pipe: Any) -> int:
    """Tokens (padding excluded) of the inputs that reached the model in the last call."""
    total = 0
    for model_inputs, _ in pipe.wattprint_seen:
        mask = model_inputs.get("attention_mask")
        if mask is not None:
            total += int(mask.sum())
        elif model_inputs.get("input_ids") is not None:
            total += int(model_inputs["input_ids"].numel())
    return total


def encoder_result(loaded: LoadedModel, pipe: Any, outputs: list[Any], **more_units: int) -> BatchResult:
    """A one-pass batch run through a pipeline: as :func:`wattprint.tasks._text.encoder_result`."""
    tokens = input_tokens(pipe)
    flops, how = analytic(loaded.parameters, tokens)
    return BatchResult(outputs, {"inferences": len(outputs), "input_tokens": tokens, **more_units}, flops, how)


def generate_texts(loaded: LoadedModel, pipe: Any, prompts: list[str], phases: Phases, max_new_tokens: int,
                   exact: bool = True, **gen: Any) -> BatchResult:
    """Generate through a "text-generation" pipeline with prefill/decode phases; only the new text is kept
    (``return_full_text=False``, as the direct path decodes the new tokens only). ``exact`` forces
    ``max_new_tokens`` per prompt; ``gen`` goes to ``generate`` as the study gave it (``eos_token_id=-1``...)."""
    from transformers import LogitsProcessorList

    marker = _generate._marker_class()(phases, loaded.device)
    # prompts tokenized without special tokens, as the direct path does (GPT-2 and BLOOM add none anyway)
    kw: dict[str, Any] = {"max_new_tokens": max_new_tokens, "do_sample": False, "num_beams": 1,
                          "return_full_text": False, "add_special_tokens": False,
                          "logits_processor": LogitsProcessorList([marker]), **gen}
    if exact:
        kw["min_new_tokens"] = max_new_tokens
    loaded.processor.padding_side = "left"  # a batch of prompts padded before them, as the direct path pads
    gc = loaded.model.generation_config
    pad = _generate.pad_id(loaded)
    if gc.pad_token_id is None and pad is not None:
        gc.pad_token_id = pad
    phases.begin("prefill")
    out = call(pipe, prompts, **kw)
    phases.end("decode" if marker.steps else "prefill")
    texts = [(r[0] if isinstance(r, list) else r)["generated_text"] for r in out]
    units = {"inferences": len(prompts), "input_tokens": input_tokens(pipe),
             "generated_tokens": _generated(loaded, pipe, exact)}
    flops, how = analytic(loaded.parameters, units["input_tokens"] + units["generated_tokens"])
    return BatchResult(texts, units, flops, how)


def _generated(loaded: LoadedModel, pipe: Any, exact: bool) -> int:
    """New tokens of the last call, each row counted up to its first EOS unless ``exact``."""
    eos = getattr(loaded.model.generation_config, "eos_token_id", None)
    eos = eos[0] if isinstance(eos, list) else eos
    total = 0
    for model_inputs, out in pipe.wattprint_seen:
        seq = out["generated_sequence"]
        seq = seq.reshape(-1, seq.shape[-1])
        total += _generate.count_generated(seq[:, model_inputs["input_ids"].shape[-1]:], eos, exact)
    return total


class PipelineDriven:
    """A task whose batches run through its pipeline: ``run_batch`` calls the task's ``run_pipeline``; inputs,
    FLOP counting (direct, outside the windows) and scoring are the task's own. A pipeline does its own
    preprocessing, so there is no separate preprocess phase."""

    separable_preprocess = False

    def __init__(self, task: Any, pipe: Any) -> None:
        self.task, self.pipe = task, pipe

    def __getattr__(self, name: str) -> Any:
        return getattr(self.task, name)

    def run_batch(self, loaded: LoadedModel, batch: list[Any], phases: Phases, params: dict[str, Any]) -> BatchResult:
        return self.task.run_pipeline(loaded, self.pipe, batch, phases, params)

    def run_prepared(self, loaded: LoadedModel, prepared: Any, phases: Phases, params: dict[str, Any]) -> BatchResult:
        return self.run_batch(loaded, prepared, phases, params)

    def prepare(self, loaded: LoadedModel, batch: list[Any], params: dict[str, Any]) -> Any:
        return batch


def drive(task: Any, loaded: LoadedModel, driver: str) -> tuple[Any, str]:
    """The task as it will run under ``driver`` ("direct" or "pipeline"), and what the record says about it:
    "direct", "pipeline: ...", or "direct (pipeline asked: <why not>)" where no pipeline fits."""
    if driver != "pipeline":
        return task, "direct"
    name, why = task.pipeline_task(loaded)
    if name == DIFFUSERS:
        return task, f"pipeline: diffusers {type(loaded.model).__name__} (the task's own path), {WINDOW}"
    why = why if name is None else (missing(name) or "")
    if name is None or why:
        return task, f"direct (pipeline asked: {why})"
    try:
        pipe = build(loaded, name, **task.pipeline_parts(loaded))
    except (ValueError, KeyError) as e:  # the pipeline refuses this model class or its processor
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        return task, f"direct (pipeline asked: transformers' {name!r} pipeline refused this model: {first})"
    return PipelineDriven(task, pipe), f"pipeline: transformers {name!r}, {WINDOW}"
