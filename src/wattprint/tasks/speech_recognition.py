"""Automatic speech recognition (LibriSpeech test-clean, Common Voice, FLEURS) with Whisper-style models:
log-mel features (30 s windows) -> ``generate``, with prefill (encoder and first token) and decode phases.
Word error rate against the transcripts where weights are real.
"""

from __future__ import annotations

from typing import Any

from wattprint.tasks import _generate, _text
from wattprint.tasks.base import BatchResult, DatasetSpec, Inputs, LoadedModel, LoadSettings, Phases, Task
from wattprint.tasks.params import Param, count
from wattprint.workloads.specs import specs

SAMPLING_RATE = 16_000


class SpeechRecognition(Task):
    name = "automatic-speech-recognition"
    version = "1"
    title = "Automatic speech recognition"
    modality = "audio"
    generative = True
    unit = "utterance"
    datasets = specs("librispeech", "common_voice", "fleurs")

    param_specs = (
        count("max_new_tokens", 128, "new tokens per transcript at most"),
        count("min_new_tokens", None, "new tokens per transcript at least; none: stop at EOS", optional=True,
              at_most="max_new_tokens"),
        Param("language", "str", "en", "transcription language of multilingual Whisper checkpoints"),
    )

    def model_class(self, entry: Any) -> str:
        return "AutoModelForSpeechSeq2Seq"

    def load(self, entry: Any, settings: LoadSettings) -> LoadedModel:
        from wattprint.models.loaders import load_transformers
        from wattprint.models.tokenizer import load_tokenizer

        ml = load_transformers(entry, settings, self.model_class(entry))
        if ml.plan.location is not None:
            from transformers import AutoProcessor

            proc = AutoProcessor.from_pretrained(ml.plan.location, cache_dir=settings.cache_dir)
            fe, tok, desc = proc.feature_extractor, proc.tokenizer, f"own ({ml.plan.location})"
        else:
            from transformers import WhisperFeatureExtractor

            fe = WhisperFeatureExtractor(feature_size=ml.model.config.num_mel_bins)
            tok, tdesc = load_tokenizer(None, entry.hub_id, ml.model, settings)
            desc = f"stand-in WhisperFeatureExtractor ({ml.model.config.num_mel_bins} mel bins); tokenizer {tdesc}"
        extra = _text.base_extra(entry, ml, self.model_class(entry), desc)
        extra["tokenizer"] = tok
        return LoadedModel(ml.model, fe, settings.device, settings.dtype, ml.plan.weights, ml.parameters,
                           ml.plan.source, extra)

    def make_inputs(self, loaded: LoadedModel, dataset: DatasetSpec, workload: str, n: int, seed: int = 0) -> Inputs:
        if _text.choose_workload(workload) == "dataset":
            a, t = dataset.fields["audio"], dataset.fields["text"]
            return _text.dataset_inputs(dataset, n, seed, lambda r: (_resample(r[a]), r[t]))
        from wattprint.workloads import synthetic

        waves, desc = synthetic.audio(dataset.stats, n, seed, SAMPLING_RATE, max_seconds=30.0)
        return Inputs(waves, None, dataset.name, "synthetic",
                      f"synthetic: {desc} ({dataset.name} statistics: {dataset.source})",
                      {"seconds": synthetic.summarize([len(w) / SAMPLING_RATE for w in waves])})

    separable_preprocess = True

    def prepare(self, loaded: LoadedModel, batch: list[Any], params: dict[str, Any]) -> Any:
        feats = loaded.processor(list(batch), sampling_rate=SAMPLING_RATE, return_tensors="pt").input_features
        return feats, int(round(sum(len(w) for w in batch) / SAMPLING_RATE))

    def run_prepared(self, loaded: LoadedModel, prepared: Any, phases: Phases, params: dict[str, Any]) -> BatchResult:
        import torch

        p = {**self.default_params(), **params}
        hi, lo = int(p["max_new_tokens"]), p.get("min_new_tokens")
        feats, seconds = prepared
        feats = feats.to(loaded.device, dtype=getattr(torch, loaded.dtype))
        out, steps = _generate.generate(loaded, {"input_features": feats}, phases, max_new_tokens=hi,
                                        min_new_tokens=int(lo) if lo else None, **_language(loaded, p))
        gen = out[:, out.shape[1] - steps:] if steps else out[:, :0]
        eos = loaded.model.generation_config.eos_token_id
        eos = eos[0] if isinstance(eos, list) else eos
        tok = loaded.extra["tokenizer"]
        units = {"inferences": int(feats.shape[0]), "audio_seconds": seconds,
                 "generated_tokens": _generate.count_generated(gen, eos, exact=lo is not None and int(lo) == hi)}
        return BatchResult([s.strip() for s in tok.batch_decode(gen, skip_special_tokens=True)], units)

    def run_batch(self, loaded: LoadedModel, batch: list[Any], phases: Phases, params: dict[str, Any]) -> BatchResult:
        return self.run_prepared(loaded, self.prepare(loaded, batch, params), phases, params)

    def score(self, outputs: list[Any], references: list[Any]) -> dict[str, float] | None:
        from wattprint.tasks.metrics import wer

        return {"wer": wer(outputs, references)} if references else None


def _language(loaded: LoadedModel, p: dict[str, Any]) -> dict[str, Any]:
    """English transcription for multilingual Whisper checkpoints (the three datasets are English), so that
    no language-detection pass is added; a model without language tokens (random config) gets nothing."""
    gc = getattr(loaded.model, "generation_config", None)
    if getattr(gc, "lang_to_id", None):
        return {"language": p.get("language", "en"), "task": "transcribe"}
    return {}


def _resample(audio: dict[str, Any]) -> Any:
    """A hub audio column ({"array", "sampling_rate"}) as 16 kHz float32 (linear interpolation if needed)."""
    import numpy as np

    arr = np.asarray(audio["array"], dtype=np.float32)
    sr = int(audio["sampling_rate"])
    if sr == SAMPLING_RATE:
        return arr
    n = int(round(len(arr) * SAMPLING_RATE / sr))
    return np.interp(np.linspace(0, len(arr) - 1, n), np.arange(len(arr)), arr).astype(np.float32)
