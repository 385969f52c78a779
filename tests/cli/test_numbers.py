"""Numbers that are not numbers: NaN, inf, negative and out-of-range values are refused in one line with
the fix, at parse time (before anything runs), and breakeven's JSON is always JSON."""

from __future__ import annotations

import contextlib
import io
import json
import math
import sys

import pytest
from cli_helpers import assert_one_error
from hypothesis import given, settings
from hypothesis import strategies as st

from wattprint.cli.main import main


def _strict_json(text: str):
    def refuse(name: str):
        raise AssertionError(f"{name} is not JSON")
    return json.loads(text, parse_constant=refuse)


def _quiet_main(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as e:
            code = int(e.code or 0)
    return code, out.getvalue(), err.getvalue()


# ---- every numeric flag of every command --------------------------------------------------------
CASES = [
    *[(["carbon", flag, v], flag) for flag in ("--kwh", "--wh", "--joules") for v in ("nan", "inf", "-1", "x")],
    *[(["bench", "--time-budget", v], "--time-budget") for v in ("nan", "inf", "0", "-5")],
    *[(["bench", "--idle-seconds", v], "--idle-seconds") for v in ("nan", "inf", "-1", "1e9")],
    (["bench", "--samples", "0"], "--samples"), (["bench", "--samples", "nan"], "--samples"),
    (["bench", "--repeats", "0"], "--repeats"), (["bench", "--batch-size", "-2"], "--batch-size"),
    (["bench", "--warmup", "-1"], "--warmup"), (["bench", "--datasets", "0"], "--datasets"),
    (["bench", "--max-new-tokens", "0"], "--max-new-tokens"), (["bench", "--steps", "0"], "--steps"),
    (["bench", "--height", "-64"], "--height"), (["bench", "--seed", "-1"], "--seed"),
    (["bench", "--samples", "100000000000000000000"], "--samples"),
    (["bench", "--seed", "99999999999999999999999"], "--seed"),
    *[(["breakeven", flag, v, "--model", "bloomz-7b1"], flag)
      for flag in ("--training-kwh", "--wh-per-1000", "--kwh-per-inference", "--queries-per-day")
      for v in ("nan", "inf", "0", "-1")],
    (["compare", "--task", "text-classification", "--specific", "a", "--general", "b", "--samples", "0"],
     "--samples"),
    (["compare", "--task", "text-classification", "--specific", "a", "--general", "b", "--repeats", "nan"],
     "--repeats"),
    *[(["measure", "--idle-seconds", v, "--", "true"], "--idle-seconds") for v in ("nan", "inf", "-1", "1e9")],
]


@pytest.mark.parametrize("argv, flag", CASES, ids=[" ".join(a) for a, _ in CASES])
def test_bad_number_is_one_line_with_the_fix(cli, tmp_path, argv, flag):
    code, out, err = cli(*argv, *([] if argv[0] in ("carbon", "measure") else ["--store", str(tmp_path / "w.db")]))
    assert_one_error(code, err, f"argument {flag}", "fix: pass e.g.")
    assert not (tmp_path / "w.db").exists()  # nothing was opened or written


@pytest.mark.parametrize("flag, value, needle", [
    ("--intensity", "nan", "intensity (flag --intensity) must be a finite number >= 0"),
    ("--intensity", "-5", "intensity (flag --intensity) must be a finite number >= 0"),
    ("--intensity", "inf", "intensity (flag --intensity) must be a finite number >= 0"),
    ("--pue", "nan", "PUE (flag --pue) must be a finite number >= 1.0"),
    ("--pue", "inf", "PUE (flag --pue) must be a finite number >= 1.0"),
    ("--pue", "0.5", "PUE (flag --pue) must be a finite number >= 1.0"),
])
def test_bad_intensity_or_pue_flag(cli, flag, value, needle):
    code, out, err = cli("carbon", "--kwh", "1", "--country", "FR", flag, value)
    assert_one_error(code, err, needle)
    assert "nan" not in out and "inf" not in out


@pytest.mark.parametrize("var", ["WATTPRINT_PUE", "WATTPRINT_INTENSITY"])
def test_bad_number_in_the_environment(cli, monkeypatch, var):
    monkeypatch.setenv(var, "nan")
    code, _, err = cli("carbon", "--kwh", "1")
    assert_one_error(code, err, f"env {var}")


def test_energy_that_overflows_in_joules(cli):
    code, _, err = cli("carbon", "--kwh", "1e308")
    assert_one_error(code, err, "too large")


def test_measure_refuses_bad_idle_seconds_before_running_the_command(cli, tmp_path):
    marker = tmp_path / "ran"
    code, _, err = cli("measure", "--idle-seconds", "nan", "--", sys.executable, "-c",
                       f"open({str(marker)!r}, 'w')")
    assert_one_error(code, err, "--idle-seconds")
    assert not marker.exists()


# ---- breakeven's JSON ---------------------------------------------------------------------------
def test_breakeven_json_says_never_instead_of_infinity(cli):
    code, out, err = cli("breakeven", "--training-kwh", "1e300", "--kwh-per-inference", "1e-300",
                         "--queries-per-day", "5", "--json")
    doc = _strict_json(out)
    assert code == 0 and "Infinity" not in out
    assert doc["never"] is True and doc["inferences"] is None and doc["days"] is None and doc["years"] is None
    assert "1.8e308" in doc["note"]
    code, out, _ = cli("breakeven", "--training-kwh", "1e300", "--kwh-per-inference", "1e-300")
    assert code == 0 and "break-even never" in out and "inf" not in out.replace("inference", "")


positive = st.floats(min_value=1e-300, max_value=1e300, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(tk=positive, ik=positive, rate=positive)
def test_breakeven_json_is_always_strict_json_and_exact(tk, ik, rate):
    code, out, err = _quiet_main("breakeven", "--training-kwh", repr(tk), "--kwh-per-inference", repr(ik),
                                 "--queries-per-day", repr(rate), "--json")
    assert code == 0, err
    doc = _strict_json(out)
    n = tk / ik
    if math.isfinite(n):
        assert doc["inferences"] == pytest.approx(n)
        days = n / rate
        assert doc["never"] is (not math.isfinite(days))
        assert doc["days"] == (pytest.approx(days) if math.isfinite(days) else None)
    else:
        assert doc["never"] is True and doc["inferences"] is None


@pytest.mark.parametrize("value", ["-1", "abc", "0,x", ",", "1.5"])
def test_measure_gpu_list_is_checked_before_running(cli, tmp_path, value):
    marker = tmp_path / "ran"
    code, _, err = cli("measure", "--gpus", value, "--", sys.executable, "-c", f"open({str(marker)!r}, 'w')")
    assert_one_error(code, err, "argument --gpus", "--gpus 0,1")
    assert not marker.exists()


@pytest.mark.parametrize("flag, value, said", [
    ("--duration", "0", "--duration"), ("--duration", "nan", "--duration"), ("--slice", "-1", "--slice"),
    ("--timeout", "1e9", "--timeout"), ("--seed", "-3", "--seed"), ("--warmup", "x", "--warmup"),
    ("--idle", "1e9", "--idle"), ("--max-input", "0", "--max-input"), ("--counter-reads", "inf", "--counter-reads"),
])
def test_serve_bench_numbers_are_bounded_at_parse_time(capsys, tmp_path, flag, value, said):
    from cli_helpers import run_cli

    code, _, err = run_cli(capsys, "serve-bench", "--model", "m", "--url", "http://127.0.0.1:1",
                           "--store", str(tmp_path / "sb.db"), flag, value)
    assert_one_error(code, err, said)
    assert not (tmp_path / "sb.db").exists()
