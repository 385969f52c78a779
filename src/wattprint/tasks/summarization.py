"""Summarization (CNN/DailyMail, XSum, SAMSum): a seq2seq model writes a short summary with ``generate``.

transformers 5 has no summarization pipeline: the model is driven directly. The paper protocol asks for
summaries of 10 to 15 new tokens (min_new_tokens=10, max_new_tokens=15); generated tokens are counted up to
each summary's end-of-sequence token. Prefill (encoder + first token) and decode are separate phases.
T5-family models get their "summarize: " prefix; general-purpose decoder-only models (BLOOMZ) a prompt.
"""

from __future__ import annotations

from typing import Any

from wattprint.tasks import _generate, _text
from wattprint.tasks.base import BatchResult, DatasetSpec, Inputs, LoadedModel, LoadSettings, Phases, Task
from wattprint.workloads.specs import specs


class Summarization(Task):
    name = "summarization"
    version = "1"
    title = "Summarization"
    modality = "text"
    generative = True
    unit = "summary"
    datasets = specs("cnn_dailymail", "xsum", "samsum")

    def default_params(self) -> dict[str, Any]:
        return {"min_new_tokens": 10, "max_new_tokens": 15}

    def model_class(self, entry: Any) -> str:
        return _generate.lm_class(entry)

    def load(self, entry: Any, settings: LoadSettings) -> LoadedModel:
        loaded = _text.load_text_model(entry, settings, self.model_class(entry))
        cfg = loaded.model.config
        if getattr(cfg, "model_type", "") == "t5":
            loaded.extra["prefix"] = "summarize: "
        elif not getattr(cfg, "is_encoder_decoder", False):
            loaded.extra["suffix"] = "\nSummarize the text above in one sentence:"
        return loaded

    def make_inputs(self, loaded: LoadedModel, dataset: DatasetSpec, workload: str, n: int, seed: int = 0) -> Inputs:
        if _text.choose_workload(workload) == "dataset":
            t, s = dataset.fields["text"], dataset.fields["summary"]
            return _text.dataset_inputs(dataset, n, seed, lambda r: (r[t], r[s]))
        texts, desc, stats = _text.synthetic_texts(loaded, dataset, n, seed, cap=_text.text_limit(loaded, 1024) - 40)
        return Inputs(texts, None, dataset.name, "synthetic", desc, stats)

    def run_batch(self, loaded: LoadedModel, batch: list[Any], phases: Phases, params: dict[str, Any]) -> BatchResult:
        p = {**self.default_params(), **params}
        lo, hi = int(p["min_new_tokens"]), int(p["max_new_tokens"])
        prompts = [loaded.extra.get("prefix", "") + t + loaded.extra.get("suffix", "") for t in batch]
        tok = loaded.processor
        seq2seq = getattr(loaded.model.config, "is_encoder_decoder", False)
        tok.padding_side = "right" if seq2seq else "left"
        enc = tok(prompts, padding=True, truncation=True, max_length=_text.text_limit(loaded, 1024) - (0 if seq2seq else hi),
                  return_tensors="pt", add_special_tokens=seq2seq).to(loaded.device)
        inputs = {k: enc[k] for k in ("input_ids", "attention_mask")}
        out, _ = _generate.generate(loaded, inputs, phases, max_new_tokens=hi, min_new_tokens=lo if lo != hi else hi)
        gen = _generate.new_tokens(loaded, out, enc["input_ids"].shape[1])
        eos = loaded.model.generation_config.eos_token_id
        eos = eos[0] if isinstance(eos, list) else eos
        units = {"inferences": len(batch), "input_tokens": int(enc["attention_mask"].sum().item()),
                 "generated_tokens": _generate.count_generated(gen, eos, exact=lo == hi)}
        return _text.generated_result(loaded, tok.batch_decode(gen, skip_special_tokens=True), units)

    def score(self, outputs: list[Any], references: list[Any]) -> dict[str, float] | None:
        from wattprint.tasks.metrics import rouge

        return rouge(outputs, references) if references else None
