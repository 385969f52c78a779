"""Task names other tools wrote, mapped to wattprint's own (the task registry's names and aliases).

``wattprint import`` stores imported runs under wattprint's names, so that ``report --task image-captioning``
finds a run imported as ``image-to-text``. Names are compared after lower-casing and turning spaces and underscores
into hyphens. The study's names are those of "Power Hungry Processing" (Luccioni, Jernite, Strubell, 2024):
its paper's task names and the folders of its code (github.com/sashavor/co2_inference, ``code/<folder>``).
"""

from __future__ import annotations

from types import MappingProxyType

from wattprint.core.errors import ConfigError, UnknownNameError
from wattprint.tasks.registry import ALIASES, TASKS

EXTRA_NAMES = MappingProxyType({
    # Hugging Face pipeline names not in the registry's aliases
    "sentiment-analysis": "text-classification",
    "speech-recognition": "automatic-speech-recognition",
    "image-text-to-text": "image-captioning",
    # the study's paper
    "masked-language-modeling": "fill-mask",
    "extractive-qa": "question-answering",
    "image-generation": "image-generation",
    # the study's code folders
    "text-classif": "text-classification",
    "token-classif": "token-classification",
    "qa": "question-answering",
    "fillmask": "fill-mask",
    "textgen": "text-generation",
    "summarize": "summarization",
    "image-class": "image-classification",
    "obj-detect": "object-detection",
    "obj-detection": "object-detection",
    "itt": "image-captioning",
    "tti": "image-generation",
})

# Pipeline names that say how a model was called, not which task it did: the study called Flan-T5 through
# text2text-generation for sentiment, question answering and summarization (its code/zeroshot scripts).
PIPELINE_ONLY = MappingProxyType({
    "text2text-generation": ("text-classification", "question-answering", "summarization"),
})


def _norm(name: str) -> str:
    return "-".join(name.strip().lower().replace("_", " ").split())


def known_names() -> list[str]:
    return list(TASKS) + list(ALIASES) + list(EXTRA_NAMES) + list(PIPELINE_ONLY)


def resolve_task(name: str, model_tasks: tuple[str, ...] = ()) -> str:
    """wattprint's name for the task ``name``.

    ``model_tasks`` (the catalog's tasks for the model) settle a pipeline-only name such as
    ``text2text-generation`` when the model serves one task. Raises :class:`UnknownNameError` with close
    matches for an unknown name, and :class:`ConfigError` for a pipeline name that does not settle.
    """
    key = _norm(name)
    if key in TASKS:
        return key
    if key in ALIASES:
        return ALIASES[key]
    if key in EXTRA_NAMES:
        return EXTRA_NAMES[key]
    if key in PIPELINE_ONLY:
        if len(model_tasks) == 1:
            return model_tasks[0]
        options = PIPELINE_ONLY[key]
        raise ConfigError(f"{name!r} is a pipeline, not a task: the study used it for {', '.join(options)}",
                          f"pass the task it did, e.g. --task {options[0]}")
    raise UnknownNameError("task", name, known_names(), fix="run `wattprint tasks` for wattprint's task names")
