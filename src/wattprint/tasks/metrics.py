"""Quality scores (written here; ROUGE and WER use rouge-score / jiwer when installed, else our own
implementations of the same definitions). Every function takes plain Python lists."""

from __future__ import annotations

import re
import string
from collections import Counter, defaultdict
from typing import Any


def accuracy(predictions: list[Any], references: list[Any]) -> float:
    if not references:
        return float("nan")
    return sum(p == r for p, r in zip(predictions, references)) / len(references)


def normalize_sentiment(label: Any) -> str:
    """Map "POSITIVE", "LABEL_1", "pos", 1, "positive." ... onto "positive"/"negative"/"neutral"."""
    s = str(label).strip().lower()
    if s in ("1", "label_1", "pos") or s.startswith("positive") or "positive" in s:
        return "positive"
    if s in ("0", "label_0", "neg") or s.startswith("negative") or "negative" in s:
        return "negative"
    return "neutral" if "neutral" in s else s


def token_f1(predictions: list[list[str]], references: list[list[str]]) -> dict[str, float]:
    """Micro precision/recall/F1 over word-level tags that are not "O" (tag names compared exactly)."""
    tp = pred_pos = ref_pos = 0
    for pred, ref in zip(predictions, references):
        for p, r in zip(pred, ref):
            pred_pos += p != "O"
            ref_pos += r != "O"
            tp += p != "O" and p == r
    precision = tp / pred_pos if pred_pos else 0.0
    recall = tp / ref_pos if ref_pos else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"token_precision": precision, "token_recall": recall, "token_f1": f1}


def normalize_answer(s: str) -> str:
    """SQuAD's answer normalisation: lower case, no punctuation, no articles, single spaces."""
    s = "".join(ch for ch in s.lower() if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def qa_scores(predictions: list[str], references: list[list[str]]) -> dict[str, float]:
    """SQuAD exact match and F1 (max over the reference answers; an empty list means unanswerable)."""
    em = f1 = 0.0
    for pred, refs in zip(predictions, references):
        refs = refs or [""]
        em += max(float(normalize_answer(pred) == normalize_answer(r)) for r in refs)
        f1 += max(_f1(pred, r) for r in refs)
    n = max(1, len(predictions))
    return {"exact_match": em / n, "f1": f1 / n}


def _f1(pred: str, ref: str) -> float:
    p, r = normalize_answer(pred).split(), normalize_answer(ref).split()
    if not p or not r:
        return float(p == r)
    common = sum((Counter(p) & Counter(r)).values())
    if common == 0:
        return 0.0
    prec, rec = common / len(p), common / len(r)
    return 2 * prec * rec / (prec + rec)


def rouge(predictions: list[str], references: list[str]) -> dict[str, float]:
    """Mean ROUGE-1/2/L F-measures (rouge-score with stemming when installed, else our own without)."""
    try:
        from rouge_score import rouge_scorer
    except ModuleNotFoundError:
        return _own_rouge(predictions, references)
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    tot: defaultdict[str, float] = defaultdict(float)
    for p, r in zip(predictions, references):
        for k, v in scorer.score(r, p).items():
            tot[k] += v.fmeasure
    n = max(1, len(predictions))
    return {k: tot[k] / n for k in ("rouge1", "rouge2", "rougeL")}


def _words(s: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", s.lower())


def _ngram_f(p: list[str], r: list[str], n: int) -> float:
    pc = Counter(tuple(p[i : i + n]) for i in range(len(p) - n + 1))
    rc = Counter(tuple(r[i : i + n]) for i in range(len(r) - n + 1))
    overlap = sum((pc & rc).values())
    if not overlap:
        return 0.0
    prec, rec = overlap / sum(pc.values()), overlap / sum(rc.values())
    return 2 * prec * rec / (prec + rec)


def _lcs(a: list[str], b: list[str]) -> int:
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def _own_rouge(predictions: list[str], references: list[str]) -> dict[str, float]:
    tot: defaultdict[str, float] = defaultdict(float)
    for pred, ref in zip(predictions, references):
        p, r = _words(pred), _words(ref)
        tot["rouge1"] += _ngram_f(p, r, 1)
        tot["rouge2"] += _ngram_f(p, r, 2)
        lcs = _lcs(p, r)
        tot["rougeL"] += 2 * lcs / (len(p) + len(r)) if lcs else 0.0
    n = max(1, len(predictions))
    return {k: tot[k] / n for k in ("rouge1", "rouge2", "rougeL")}


def wer(predictions: list[str], references: list[str]) -> float:
    """Word error rate over the corpus: (substitutions + deletions + insertions) / reference words."""
    preds = [" ".join(_words(p)) for p in predictions]
    refs = [" ".join(_words(r)) for r in references]
    try:
        import jiwer
    except ModuleNotFoundError:
        errors = sum(_edit_distance(p.split(), r.split()) for p, r in zip(preds, refs))
        words = sum(len(r.split()) for r in refs)
        return errors / words if words else float("nan")
    return float(jiwer.wer(refs, preds))


def _edit_distance(a: list[str], b: list[str]) -> int:
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def spearman(x: list[float], y: list[float]) -> float:
    """Spearman rank correlation (average ranks for ties)."""
    rx, ry = _ranks(x), _ranks(y)
    n = len(x)
    if n < 2:
        return float("nan")
    mx, my = sum(rx) / n, sum(ry) / n
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    vx = sum((a - mx) ** 2 for a in rx) ** 0.5
    vy = sum((b - my) ** 2 for b in ry) ** 0.5
    return cov / (vx * vy) if vx and vy else float("nan")


def _ranks(v: list[float]) -> list[float]:
    order = sorted(range(len(v)), key=lambda i: v[i])
    ranks = [0.0] * len(v)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and v[order[j + 1]] == v[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks
