from wattprint.core.table import aligned


def test_columns_align_two_spaces_apart_without_trailing_spaces():
    rows = [("a", "bb", "c"), ("ccc", "d", "")]
    assert aligned(rows) == ["a    bb  c", "ccc  d"]


def test_indent_rule_min_widths_and_a_free_last_column():
    rows = [("x", "why"), ("long", "a reason that is not padded")]
    assert aligned(rows, indent="  ", rule=True) == ["  x     why", "  ----  ---------------------------",
                                                     "  long  a reason that is not padded"]
    assert aligned(rows, free_last=True) == ["x     why", "long  a reason that is not padded"]
    assert aligned([("a", "b")], min_widths=(4,)) == ["a     b"]
    assert aligned([]) == []
