"""The shared argparse validators (wattprint.cli.args): exactly the finite numbers in range pass."""

from __future__ import annotations

import argparse
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wattprint.cli.args import integer, number

BAD_FLOATS = ["nan", "NaN", "inf", "-inf", "1e999", "abc", ""]


@given(st.floats(min_value=0, allow_nan=False, allow_infinity=False))
def test_non_negative_accepts_every_finite_number_at_or_above_zero(x):
    assert number(minimum=0)(repr(x)) == x


@given(st.one_of(st.floats(max_value=-1e-300, allow_nan=False), st.sampled_from(BAD_FLOATS)))
def test_non_negative_refuses_negative_nan_inf_and_text(x):
    with pytest.raises(argparse.ArgumentTypeError, match="finite number >= 0"):
        number(minimum=0)(x if isinstance(x, str) else repr(x))


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_positive_is_exactly_finite_and_above_zero(x):
    parse = number(above=0)
    if math.isfinite(x) and x > 0:
        assert parse(repr(x)) == x
    else:
        with pytest.raises(argparse.ArgumentTypeError):
            parse(repr(x))


@given(st.integers(min_value=-10**6, max_value=10**6))
def test_integer_in_range(n):
    parse = integer(minimum=1, also=("auto",))
    assert parse("auto") == "auto"
    if n >= 1:
        assert parse(str(n)) == n
    else:
        with pytest.raises(argparse.ArgumentTypeError, match="whole number >= 1 or 'auto'"):
            parse(str(n))
    with pytest.raises(argparse.ArgumentTypeError):
        parse(f"{n}.5")
