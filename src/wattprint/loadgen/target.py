"""The endpoint under load: its URL, API, model name, and how each engine is told to generate exactly N tokens.

With random weights a model stops whenever it happens to emit its end token, so output lengths must be forced
for energy per token to compare across levels. Engines differ in how (or whether) they allow it; ``FORCE``
maps an engine name to the request fields that do it. Where an engine has no way, the benchmark checks the
lengths it got and says so.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wattprint.core.errors import ConfigError, UnknownNameError
from wattprint.loadgen.workload import RequestSpec


def _transformers(body: dict[str, Any], n: int) -> None:
    # transformers serve takes a JSON ``generation_config``; eos_token_id -1 disables the end token in its
    # continuous batching (transformers/generation/continuous_batching/requests.py), so max_tokens is reached.
    body["generation_config"] = json.dumps({"eos_token_id": -1})


def _vllm(body: dict[str, Any], n: int) -> None:
    # vLLM and SGLang accept these sampling parameters beside the OpenAI ones.
    body["min_tokens"] = n
    body["ignore_eos"] = True


def _llamacpp(body: dict[str, Any], n: int) -> None:
    body["ignore_eos"] = True  # llama.cpp's server; n_predict follows max_tokens
    body["n_predict"] = n


def _none(body: dict[str, Any], n: int) -> None:
    return None


# engine -> (adds the fields that force the output length, whether it can)
FORCE: dict[str, tuple[Callable[[dict[str, Any], int], None], bool]] = {
    "transformers": (_transformers, True),
    "vllm": (_vllm, True),
    "sglang": (_vllm, True),
    "llama.cpp": (_llamacpp, True),
    "tgi": (_none, False),  # TGI's OpenAI route has no min_tokens / ignore_eos
    "ollama": (_none, False),  # Ollama's num_predict is a maximum only
    "none": (_none, False),
}
APIS = ("chat", "completions")


@dataclass(frozen=True)
class Target:
    """``url`` is the server's base (``http://host:port``, with or without ``/v1``)."""

    url: str
    model: str
    api: str = "chat"
    force: str = "none"
    timeout_s: float = 600.0

    def __post_init__(self) -> None:
        if self.api not in APIS:
            raise UnknownNameError("API", self.api, APIS, fix="use --api chat or --api completions")
        if self.force not in FORCE:
            raise UnknownNameError("engine for --force-length", self.force, FORCE,
                                   fix=f"use one of {', '.join(FORCE)}")
        if not self.url.startswith(("http://", "https://")):
            raise ConfigError(f"endpoint {self.url!r} is not an http(s) URL", fix="e.g. --url http://127.0.0.1:8000")

    @property
    def base(self) -> str:
        u = self.url.rstrip("/")
        return u if u.endswith("/v1") else u + "/v1"

    @property
    def route(self) -> str:
        return f"{self.base}/{'chat/completions' if self.api == 'chat' else 'completions'}"

    @property
    def forces_length(self) -> bool:
        return FORCE[self.force][1]

    def body(self, spec: RequestSpec) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "max_tokens": spec.output_tokens, "stream": True,
                                "stream_options": {"include_usage": True}, "temperature": 0.0}
        if self.api == "chat":
            body["messages"] = spec.messages or [{"role": "user", "content": spec.prompt}]
        else:
            body["prompt"] = spec.prompt
        FORCE[self.force][0](body, spec.output_tokens)
        return body
