"""The task registry: name -> "module:Class". Lazy: listing names imports nothing; ``get_task`` imports one."""

from __future__ import annotations

import importlib
from types import MappingProxyType

from wattprint.core.errors import UnknownNameError
from wattprint.tasks.base import Task

TASKS = MappingProxyType({
    "text-classification": "wattprint.tasks.text_classification:TextClassification",
    "token-classification": "wattprint.tasks.token_classification:TokenClassification",
    "question-answering": "wattprint.tasks.question_answering:QuestionAnswering",
    "fill-mask": "wattprint.tasks.fill_mask:FillMask",
    "text-generation": "wattprint.tasks.text_generation:TextGeneration",
    "summarization": "wattprint.tasks.summarization:Summarization",
    "image-classification": "wattprint.tasks.image_classification:ImageClassification",
    "object-detection": "wattprint.tasks.object_detection:ObjectDetection",
    "image-captioning": "wattprint.tasks.image_captioning:ImageCaptioning",
    "image-generation": "wattprint.tasks.image_generation:ImageGeneration",
    "sentence-similarity": "wattprint.tasks.sentence_similarity:SentenceSimilarity",
    "automatic-speech-recognition": "wattprint.tasks.speech_recognition:SpeechRecognition",
})

# Other names people use for the same tasks (hub pipeline tags).
ALIASES = MappingProxyType({
    "image-to-text": "image-captioning",
    "text-to-image": "image-generation",
    "asr": "automatic-speech-recognition",
    "ner": "token-classification",
    "extractive-question-answering": "question-answering",
    "qa": "question-answering",
})


def task_names() -> list[str]:
    return list(TASKS)


def get_task(name: str) -> Task:
    """A fresh instance of the task ``name`` (or an alias). UnknownNameError with close matches otherwise."""
    key = ALIASES.get(name, name)
    if key not in TASKS:
        raise UnknownNameError("task", name, list(TASKS) + list(ALIASES), fix="run `wattprint tasks` for the list")
    module, cls = TASKS[key].split(":")
    return getattr(importlib.import_module(module), cls)()
