import pytest

from wattprint.bench.compare import CompareRequest
from wattprint.core.errors import ConfigError
from wattprint.report.compare import comparison_from_records
from wattprint.report.compare_view import to_html, to_text


def test_scores_only_with_real_weights(record):
    req = CompareRequest("summarization", ("t5-small",), ("flan-t5-small", "bloomz-560m"))
    recs = [
        record("summarization", "t5-small", 36.0, weights="pretrained", workload="dataset",
               scores={"rougeL": 0.30, "rouge1": 0.4}),
        record("summarization", "t5-small", 44.0, repeat=1, weights="pretrained", workload="dataset",
               scores={"rougeL": 0.32}),
        record("summarization", "flan-t5-small", 360.0, weights="pretrained", workload="dataset",
               scores={"rougeL": 0.25}),
        record("summarization", "bloomz-560m", 3600.0, weights="random", workload="synthetic"),
    ]
    c = comparison_from_records(req, recs)
    rows = {r.model: r for r in c.rows}
    assert rows["t5-small"].score == pytest.approx(0.31) and rows["t5-small"].metric == "rougeL"
    assert rows["t5-small"].kwh_per_1000 == pytest.approx(40.0 / 100 * 1000 / 3.6e6)
    assert rows["bloomz-560m"].score is None and rows["bloomz-560m"].score_note == "n/a (random weights)"
    assert rows["bloomz-560m"].metric == "rougeL"
    ratios = {(g.model, s.model): x for g, s, x in c.pairs()}
    assert ratios[("flan-t5-small", "t5-small")] == pytest.approx(9.0)
    assert ratios[("bloomz-560m", "t5-small")] == pytest.approx(90.0)
    assert "mixed" not in c.same_inputs and "synthetic" in c.same_inputs  # one model had synthetic inputs
    assert "9.0x the energy of t5-small" in to_text(c)
    html = to_html(c)
    assert html.count('class="pt"') == 3 and "rougeL 0.310" in html


def test_missing_model_and_bad_task(record):
    with pytest.raises(ConfigError):
        CompareRequest("image-generation", ("a",), ("b",))
    req = CompareRequest("text-classification", ("a",), ("b",))
    with pytest.raises(ConfigError) as e:
        comparison_from_records(req, [record("text-classification", "a", 1.0),
                                      record("text-classification", "b", 1.0, status="failed", error="cannot load: x")])
    assert "cannot load: x" in e.value.message
