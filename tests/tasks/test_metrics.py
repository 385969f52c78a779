"""Quality scores against hand-computed values."""

import pytest

from wattprint.tasks import metrics


def test_accuracy_and_sentiment_labels():
    preds = [metrics.normalize_sentiment(x) for x in ("POSITIVE", "LABEL_0", "negative.", "Positive")]
    assert preds == ["positive", "negative", "negative", "positive"]
    assert metrics.accuracy(preds, ["positive", "positive", "negative", "positive"]) == 0.75


def test_token_f1():
    pred = [["B-PER", "O", "B-LOC"], ["O", "B-ORG"]]
    ref = [["B-PER", "O", "O"], ["B-ORG", "B-ORG"]]
    s = metrics.token_f1(pred, ref)  # tp 2, predicted 3, reference 3
    assert s["token_precision"] == pytest.approx(2 / 3) and s["token_recall"] == pytest.approx(2 / 3)
    assert s["token_f1"] == pytest.approx(2 / 3)


def test_squad_exact_match_and_f1():
    s = metrics.qa_scores(["the Eiffel Tower", "in Paris France"], [["Eiffel Tower"], ["Paris"]])
    assert s["exact_match"] == 0.5
    assert s["f1"] == pytest.approx((1 + 2 * (1 / 3) * 1 / (1 / 3 + 1)) / 2)


def test_rouge_own_implementation():
    s = metrics._own_rouge(["the cat sat on the mat"], ["the cat is on the mat"])
    # unigrams: 5 of 6 overlap; bigrams: "the cat", "on the", "the mat" = 3 of 5; LCS "the cat on the mat" = 5
    assert s["rouge1"] == pytest.approx(5 / 6)
    assert s["rouge2"] == pytest.approx(3 / 5)
    assert s["rougeL"] == pytest.approx(5 / 6)


def test_wer_counts_substitutions_insertions_deletions():
    assert metrics.wer(["the cat sat"], ["the cat sat"]) == 0.0
    assert metrics.wer(["the dog sat down"], ["the cat sat"]) == pytest.approx(2 / 3)
    assert metrics._edit_distance("a b c".split(), "a c".split()) == 1


def test_spearman_with_ties():
    assert metrics.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert metrics.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert metrics.spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(0.9486833, abs=1e-6)


def test_own_rouge_and_wer_agree_with_the_reference_packages():
    rouge_score = pytest.importorskip("rouge_score.rouge_scorer")
    jiwer = pytest.importorskip("jiwer")
    preds = ["police arrest two men after a robbery in leeds", "the match ended in a draw"]
    refs = ["two men were arrested after an armed robbery in leeds", "the game ended in a goalless draw"]
    scorer = rouge_score.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=False)
    for p, r in zip(preds, refs):
        ref = scorer.score(r, p)
        own = metrics._own_rouge([p], [r])
        for k in ("rouge1", "rouge2", "rougeL"):
            assert own[k] == pytest.approx(ref[k].fmeasure)
    assert metrics._edit_distance(preds[0].split(), refs[0].split()) / len(refs[0].split()) == pytest.approx(
        jiwer.wer(refs[0], preds[0]))
