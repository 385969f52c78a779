"""What the load generator sends: a prompt and an output length per request.

Three sources, each described in the results:

* a published length distribution of a real chat dataset (``sharegpt``, ``lmsys-chat``): input and output
  lengths drawn from a log-normal matched to the published mean and standard deviation (the shape is our
  assumption; the moments are the paper's), clipped to ``[min, max]``;
* ``fixed:IN:OUT``: every request has IN prompt tokens and asks for OUT output tokens;
* a JSONL file: one object per line with ``prompt`` (text) or ``messages`` (chat), and optionally
  ``max_tokens`` / ``output_tokens``.

Prompts built here are words of common English ("the", "of", ...), one token each in the usual BPE and
WordPiece vocabularies, so a prompt of N words is close to N tokens; the engine's own count (``usage``) is
what the results use.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wattprint.core.errors import ConfigError, UnknownNameError

WORDS = ("the of and to in is was for on that with as by at from his her he it an are were which be this "
         "have has had not but or its one all their they there been who will more no if out so said what up "
         "about into than them can only other new some could time these two may then do first any my now").split()


@dataclass(frozen=True)
class LengthStats:
    """Published moments of a dataset's prompt and response lengths, in tokens, with their source."""

    name: str
    input_mean: float
    input_std: float
    output_mean: float
    output_std: float
    source: str
    input_max: int = 2048
    output_max: int = 1024
    minimum: int = 4


# Registries, not branches: a new dataset is one more entry with its source.
DATASETS: dict[str, LengthStats] = {
    "lmsys-chat": LengthStats(
        "lmsys-chat", 69.5, 143.4, 214.5, 226.0,
        "Zheng et al. 2023, LMSYS-Chat-1M (arXiv:2309.11998), table 1: tokens per prompt 69.5 +- 143.4, "
        "per response 214.5 +- 226.0 (Llama tokenizer)"),
    "sharegpt": LengthStats(
        "sharegpt", 161.0, 161.0, 338.0, 338.0,
        "Kwon et al. 2023, vLLM/PagedAttention (SOSP '23), section 6.1 and figure 11: ShareGPT mean input "
        "161 and output 338 tokens; standard deviations not published, assumed equal to the means"),
}


@dataclass(frozen=True)
class RequestSpec:
    """One request: a chat ``messages`` list or a completion ``prompt``, and the output length asked for."""

    prompt: str
    output_tokens: int
    input_tokens: int | None = None  # what was aimed at (words); None for user text
    messages: list[dict[str, Any]] | None = field(default=None, hash=False)


@dataclass(frozen=True)
class Workload:
    """Request specs drawn on demand from a seeded generator (the same seed gives the same requests)."""

    name: str
    description: str
    specs: tuple[RequestSpec, ...]

    def request(self, i: int) -> RequestSpec:
        return self.specs[i % len(self.specs)]

    def to_dict(self) -> dict[str, Any]:
        ins = [s.input_tokens for s in self.specs if s.input_tokens is not None]
        outs = [s.output_tokens for s in self.specs]
        return {"name": self.name, "description": self.description, "pool": len(self.specs),
                "input_tokens_mean": sum(ins) / len(ins) if ins else None,
                "output_tokens_mean": sum(outs) / len(outs)}


def _lognormal(rng: random.Random, mean: float, std: float, lo: int, hi: int) -> int:
    sigma2 = math.log(1.0 + (std / mean) ** 2)
    mu = math.log(mean) - sigma2 / 2.0
    return int(min(max(round(rng.lognormvariate(mu, math.sqrt(sigma2))), lo), hi))


def prompt_of(n: int, rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(max(n, 1)))


def from_dataset(stats: LengthStats, pool: int, seed: int, max_input: int | None = None,
                 max_output: int | None = None) -> Workload:
    rng = random.Random(seed)
    hi_in = min(stats.input_max, max_input or stats.input_max)
    hi_out = min(stats.output_max, max_output or stats.output_max)
    specs = []
    for _ in range(pool):
        n_in = _lognormal(rng, stats.input_mean, stats.input_std, stats.minimum, hi_in)
        n_out = _lognormal(rng, stats.output_mean, stats.output_std, stats.minimum, hi_out)
        specs.append(RequestSpec(prompt_of(n_in, rng), n_out, n_in))
    desc = (f"synthetic prompts, lengths drawn from {stats.name} statistics (log-normal matched to published "
            f"mean and std, clipped to [{stats.minimum}, {hi_in}] in / [{stats.minimum}, {hi_out}] out); "
            f"source: {stats.source}")
    return Workload(stats.name, desc, tuple(specs))


def fixed(n_in: int, n_out: int, pool: int, seed: int) -> Workload:
    if n_in < 1 or n_out < 1:
        raise ConfigError(f"fixed:{n_in}:{n_out}: lengths must be positive", fix="e.g. --workload fixed:128:128")
    rng = random.Random(seed)
    specs = tuple(RequestSpec(prompt_of(n_in, rng), n_out, n_in) for _ in range(pool))
    return Workload(f"fixed:{n_in}:{n_out}", f"synthetic prompts of {n_in} words (~tokens), {n_out} output "
                    "tokens each", specs)


def _jsonl_spec(obj: Any, where: str, default_out: int) -> RequestSpec:
    if not isinstance(obj, dict) or not ("prompt" in obj or "messages" in obj):
        raise ConfigError(f"{where}: each line must be a JSON object with 'prompt' or 'messages'",
                          fix='write lines like {"prompt": "Hello", "max_tokens": 64}')
    out = obj.get("output_tokens", obj.get("max_tokens", default_out))
    if not isinstance(out, int) or out < 1:
        raise ConfigError(f"{where}: output length {out!r} must be a positive integer",
                          fix='use "max_tokens": 64')
    messages = obj.get("messages")
    prompt = obj.get("prompt") or " ".join(str(m.get("content", "")) for m in messages or [])
    return RequestSpec(str(prompt), out, None, messages)


def from_jsonl(path: str, default_out: int) -> Workload:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"workload file {path} does not exist", fix="give a JSONL file, one request per line")
    specs = []
    for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{path}:{n}: not JSON ({e.msg})", fix="one JSON object per line") from e
        specs.append(_jsonl_spec(obj, f"{path}:{n}", default_out))
    if not specs:
        raise ConfigError(f"workload file {path} has no requests", fix="add one JSON object per line")
    return Workload(f"file:{p.name}", f"{len(specs)} requests from {p.name} (user file)", tuple(specs))


def resolve(spec: str, *, pool: int = 512, seed: int = 0, default_out: int = 128,
            max_input: int | None = None, max_output: int | None = None) -> Workload:
    """``sharegpt`` | ``lmsys-chat`` | ``fixed:IN:OUT`` | ``file.jsonl`` -> a Workload."""
    if spec.startswith("fixed:"):
        parts = spec.split(":")
        try:
            n_in, n_out = int(parts[1]), int(parts[2])
        except (IndexError, ValueError) as e:
            raise ConfigError(f"workload {spec!r}: expected fixed:IN:OUT", fix="e.g. --workload fixed:128:128") from e
        return fixed(n_in, n_out, pool, seed)
    if spec.endswith(".jsonl") or Path(spec).is_file():
        return from_jsonl(spec, default_out)
    if spec not in DATASETS:
        raise UnknownNameError("workload", spec, [*DATASETS, "fixed:IN:OUT", "PATH.jsonl"])
    return from_dataset(DATASETS[spec], pool, seed, max_input, max_output)
