"""Student-t quantiles and summaries against printed t tables and hand arithmetic."""

import math

import pytest

from wattprint.bench.stats import percentile, summarize, t_cdf, t_quantile


@pytest.mark.parametrize(
    "df, expected",  # two-sided 95% critical values from any printed t table
    [(1, 12.706), (2, 4.303), (4, 2.776), (9, 2.262), (19, 2.093), (29, 2.045), (120, 1.980)],
)
def test_t_quantile_matches_table(df, expected):
    assert t_quantile(0.975, df) == pytest.approx(expected, abs=6e-4)


def test_t_quantile_is_symmetric_and_inverts_cdf():
    for df in (1, 3, 7, 30):
        for p in (0.6, 0.9, 0.995):
            q = t_quantile(p, df)
            assert t_cdf(q, df) == pytest.approx(p, abs=1e-9)
            assert t_quantile(1 - p, df) == pytest.approx(-q, abs=1e-9)


def test_t_tends_to_normal():
    assert t_quantile(0.975, 1e6) == pytest.approx(1.959964, abs=1e-4)


def test_summary_of_ten_repeats():
    values = [10.0, 12.0, 11.0, 13.0, 9.0, 10.5, 11.5, 12.5, 9.5, 10.0]
    s = summarize(values)
    mean = sum(values) / 10
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / 9)
    assert s.mean == pytest.approx(mean)
    assert s.std == pytest.approx(std)
    assert s.ci_high - s.mean == pytest.approx(2.2622 * std / math.sqrt(10), rel=1e-4)
    assert s.ci_low == pytest.approx(2 * s.mean - s.ci_high)


def test_one_repeat_has_no_spread():
    s = summarize([4.2])
    assert (s.mean, s.std, s.ci_low, s.ci_high) == (4.2, None, None, None)


def test_percentile_interpolates():
    assert percentile([1, 2, 3, 4, 5], 50) == 3
    assert percentile([1, 2, 3, 4, 5], 95) == pytest.approx(4.8)
    assert percentile([7.0], 95) == 7.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_a_commit_given_by_the_environment_is_recorded_as_such(monkeypatch):
    from wattprint.bench.environment import git_revision

    monkeypatch.setenv("WATTPRINT_COMMIT", "a174b35")
    assert git_revision() == {"commit": "a174b35", "dirty": None, "source": "WATTPRINT_COMMIT"}
    monkeypatch.delenv("WATTPRINT_COMMIT")
    found = git_revision()
    assert found is None or ("source" not in found and len(found["commit"]) == 40)
