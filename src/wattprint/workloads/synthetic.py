"""Synthetic inputs matched to a dataset's statistics: texts of a target token length made of real words,
images of typical sizes, audio of typical durations. Seeded and reproducible; every generator returns a
description of exactly what it made and from which statistics.

Lengths follow a normal distribution with the dataset's mean and standard deviation, clipped to its [min, max]
(a simple, stated approximation of usually right-skewed distributions). Text lengths are not drawn at random
but spread over that distribution's quantiles in a low-discrepancy order (:meth:`LengthDist.spread`): a job
keeps the first n of the inputs it built, often 10 to 30 of them for a slow model, and n random draws can miss
the mean by a quarter (157-token texts averaged 200 over the first 13 of one seed); any first n of the spread
order match it within a few percent.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

_WORD = re.compile(r"^[a-z]{2,12}$")
# Markers of whole-word tokens: GPT-2/RoBERTa byte BPE ("Ġ"), SentencePiece ("▁") lead; CLIP ("</w>") trails.
_WORD_PREFIXES = ("Ġ", "▁")
_WORD_SUFFIX = "</w>"


def _van_der_corput(i: int) -> float:
    """The i-th term of the base-2 van der Corput sequence: i's binary digits mirrored behind the point."""
    x, f = 0.0, 0.5
    while i:
        x, i, f = x + f * (i & 1), i >> 1, f / 2
    return x


@dataclass(frozen=True)
class LengthDist:
    mean: float
    std: float
    lo: int
    hi: int

    def sample(self, rng: random.Random) -> int:
        return int(min(self.hi, max(self.lo, round(rng.gauss(self.mean, self.std)))))

    def spread(self, n: int, rng: random.Random) -> list[int]:
        """``n`` lengths at the distribution's quantiles, in an order whose every prefix covers it evenly: pairs
        of mirrored quantiles (u, 1 - u: each pair's mean is the distribution's, clipping aside) at the points of
        the van der Corput sequence (base 2), rotated by one seeded offset (another even set for each seed)."""
        shift = rng.random()
        dist = NormalDist(self.mean, self.std) if self.std > 0 else None
        out = []
        for i in range(n):
            u = (_van_der_corput(i // 2 + 1) + shift) % 1.0
            u = 1.0 - u if i % 2 else u
            x = dist.inv_cdf(min(max(u, 1e-9), 1 - 1e-9)) if dist else self.mean
            out.append(int(min(self.hi, max(self.lo, round(x)))))
        return out

    def describe(self, unit: str) -> str:
        return f"{unit} ~ N({self.mean:g}, {self.std:g}) clipped to [{self.lo}, {self.hi}]"


def length_dist(stats: dict[str, Any], prefix: str = "tokens", cap: int | None = None) -> LengthDist:
    hi = int(stats.get(f"{prefix}_max", 512))
    if cap is not None:
        hi = min(hi, cap)
    lo = min(int(stats.get(f"{prefix}_min", 1)), hi)
    return LengthDist(float(stats[f"{prefix}_mean"]), float(stats.get(f"{prefix}_std", 0.0)), lo, hi)


def word_list(tokenizer: Any) -> list[str]:
    """Real words that the tokenizer's vocabulary holds as whole-word tokens (sorted: reproducible)."""
    vocab = tokenizer.get_vocab()
    words = set()
    prefixed = _has_prefixed_vocab(vocab)
    for tok in vocab:
        if tok.endswith(_WORD_SUFFIX):  # CLIP's BPE marks a word's end instead of its start
            w, whole = tok[: -len(_WORD_SUFFIX)], True
        elif tok.startswith(_WORD_PREFIXES):
            w, whole = tok[1:], True
        else:
            w, whole = tok, not prefixed  # WordPiece: an unmarked entry is a word ("##" marks pieces)
        if whole and _WORD.match(w):
            words.add(w)
    if len(words) < 100:
        raise ValueError(f"tokenizer vocabulary has only {len(words)} plain words")
    return sorted(words)


def _has_prefixed_vocab(vocab: dict[str, int]) -> bool:
    """True for vocabularies that mark whole words (GPT-2 "Ġthe", SentencePiece "▁the", CLIP "the</w>"):
    their unmarked entries are word pieces, not words."""
    return any(k in vocab for k in ("Ġthe", "▁the", "the</w>"))


def count_tokens(tokenizer: Any, text: str) -> int:
    # a stand-in tokenizer's ids are its base's folded into the model's vocabulary: the count is the base's, and
    # asking the base skips folding every id (building 1,000 inputs tokenizes each text several times)
    base = getattr(tokenizer, "base", tokenizer)
    return len(base(text, add_special_tokens=False)["input_ids"])


def _text_and_count(tokenizer: Any, words: list[str], n_tokens: int, rng: random.Random) -> tuple[str, int]:
    chosen = [rng.choice(words) for _ in range(n_tokens)]
    for _ in range(8):
        count = count_tokens(tokenizer, " ".join(chosen))
        if count == n_tokens:
            return " ".join(chosen), count
        if count > n_tokens:
            per_word = count / len(chosen)
            chosen = chosen[: max(1, len(chosen) - max(1, int((count - n_tokens) / per_word)))]
        else:
            chosen += [rng.choice(words) for _ in range(n_tokens - count)]
    count = count_tokens(tokenizer, " ".join(chosen))
    while len(chosen) > 1 and count > n_tokens:
        chosen.pop()  # never longer than asked (a model's window is a hard limit)
        count = count_tokens(tokenizer, " ".join(chosen))
    return " ".join(chosen), count


def text_of_tokens(tokenizer: Any, words: list[str], n_tokens: int, rng: random.Random) -> str:
    """A text of real words that the tokenizer splits into exactly ``n_tokens`` tokens (or as near as the
    vocabulary allows: a word can only add whole tokens)."""
    return _text_and_count(tokenizer, words, n_tokens, rng)[0]


def texts(tokenizer: Any, dist: LengthDist, n: int, seed: int) -> tuple[list[str], list[int]]:
    """``n`` texts whose token counts follow ``dist`` (spread over its quantiles: :meth:`LengthDist.spread`);
    returns the texts and their actual token counts."""
    rng = random.Random(seed)
    words = word_list(tokenizer)
    out, lengths = [], []
    for target in dist.spread(n, rng):
        t, count = _text_and_count(tokenizer, words, target, rng)
        out.append(t)
        lengths.append(count)
    return out, lengths


def word_sequences(tokenizer: Any, dist: LengthDist, n: int, seed: int) -> list[list[str]]:
    """``n`` pre-split sentences (lists of words) whose word counts follow ``dist`` (spread over its quantiles)."""
    rng = random.Random(seed)
    words = word_list(tokenizer)
    return [[rng.choice(words) for _ in range(k)] for k in dist.spread(n, rng)]


def images(stats: dict[str, Any], n: int, seed: int, size_cap: int | None = None) -> tuple[list[Any], str]:
    """``n`` RGB PIL images with sizes drawn from the dataset's width/height statistics (seeded noise)."""
    import numpy as np
    from PIL import Image

    rng = random.Random(seed)
    gen = np.random.default_rng(seed)
    lo, hi = int(stats.get("size_min", 16)), int(stats.get("size_max", 1024))
    if size_cap:
        hi = min(hi, size_cap)
        lo = min(lo, hi)
    wd = LengthDist(stats["width_mean"], stats.get("width_std", 0), lo, hi)
    hd = LengthDist(stats["height_mean"], stats.get("height_std", 0), lo, hi)
    out = []
    for _ in range(n):
        w, h = wd.sample(rng), hd.sample(rng)
        out.append(Image.fromarray(gen.integers(0, 256, size=(h, w, 3), dtype=np.uint8), "RGB"))
    desc = f"{n} RGB noise images, width {wd.describe('px')}, height {hd.describe('px')}, seed {seed}"
    return out, desc


def audio(stats: dict[str, Any], n: int, seed: int, sampling_rate: int = 16_000,
          max_seconds: float | None = None) -> tuple[list[Any], str]:
    """``n`` mono float32 waveforms (tones plus noise) with durations drawn from the dataset statistics."""
    import numpy as np

    rng = random.Random(seed)
    gen = np.random.default_rng(seed)
    hi = stats["seconds_max"] if max_seconds is None else min(stats["seconds_max"], max_seconds)
    lo = min(stats["seconds_min"], hi)
    out = []
    for _ in range(n):
        secs = min(hi, max(lo, rng.gauss(stats["seconds_mean"], stats["seconds_std"])))
        t = np.arange(int(secs * sampling_rate), dtype=np.float32) / sampling_rate
        wave = 0.1 * np.sin(2 * np.pi * rng.uniform(100, 400) * t) + 0.02 * gen.standard_normal(t.size)
        out.append(wave.astype(np.float32))
    desc = (f"{n} waveforms at {sampling_rate} Hz (tone + noise), seconds ~ N({stats['seconds_mean']:g}, "
            f"{stats['seconds_std']:g}) clipped to [{lo:g}, {hi:g}], seed {seed}")
    return out, desc


def summarize(values: list[float]) -> dict[str, float]:
    """Mean, std, min, max of the measured lengths or sizes (what Inputs.stats reports)."""
    if not values:
        return {}
    m = sum(values) / len(values)
    var = sum((v - m) ** 2 for v in values) / len(values)
    return {"mean": round(m, 3), "std": round(var**0.5, 3), "min": min(values), "max": max(values)}
