import math

import pytest

from wattprint.report.rating import band_edges, rating_class, stars_for
from wattprint.report.stats import log_pearson, pearson, summarize, t_critical_95


def test_summary_of_known_values():
    s = summarize([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0])
    assert s.mean == 5.0
    assert s.std == pytest.approx(2.138089935, rel=1e-9)  # sample std (n-1)
    half = 2.365 * 2.138089935 / math.sqrt(8)  # t(0.975, 7) = 2.365
    assert s.ci_low == pytest.approx(5.0 - half) and s.ci_high == pytest.approx(5.0 + half)


def test_single_value_has_no_spread():
    s = summarize([3.0])
    assert (s.n, s.mean, s.std, s.ci_low, s.ci_high) == (1, 3.0, None, None, None)


def test_t_beyond_table_close_to_known_quantiles():
    assert t_critical_95(40) == pytest.approx(2.021, abs=1e-3)
    assert t_critical_95(120) == pytest.approx(1.980, abs=1e-3)


def test_pearson():
    assert pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert pearson([1, 2, 3], [6, 4, 2]) == pytest.approx(-1.0)
    assert pearson([1, 2], [1, 2]) is None
    assert pearson([1, 1, 1], [1, 2, 3]) is None
    # y = x^2 is a perfect line in log-log
    assert log_pearson([1, 10, 100, 1000], [1, 100, 1e4, 1e6]) == pytest.approx(1.0)
    assert log_pearson([1e6, 1e7, 1e8], [3.0, 1.0, 2.0]) == pytest.approx(
        pearson([6, 7, 8], [math.log10(3), 0.0, math.log10(2)]))


def test_log_bands():
    lo, hi = 1e-4, 1e1  # five decades: one band per decade
    assert [stars_for(v, lo, hi) for v in (1e-4, 5e-4, 2e-3, 2e-2, 2e-1, 5.0, 10.0)] == [5, 5, 4, 3, 2, 1, 1]
    assert band_edges(lo, hi) == pytest.approx([1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0])


def test_linear_bands():
    assert [stars_for(v, 0.0, 10.0, "linear") for v in (0, 1.99, 2.0, 5, 9.9, 10)] == [5, 5, 4, 3, 1, 1]
    assert stars_for(3.0, 3.0, 3.0) == 5


def test_size_classes_only_for_text_generation():
    assert rating_class("text-generation", 7_000_000_000) == "≤ 20B"
    assert rating_class("text-generation", 20_000_000_000) == "≤ 20B"
    assert rating_class("text-generation", 65_000_000_000) == "≤ 66B"
    assert rating_class("text-generation", 176_000_000_000) == "> 66B"
    assert rating_class("text-generation", None) == "size unknown"
    assert rating_class("text-classification", 176_000_000_000) == "all models"
