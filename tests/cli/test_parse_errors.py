"""What argparse refuses, said the same way by every command: one error line and a fix line on stderr, never
the usage dump; a misspelt option, command or choice gets the close matches; an empty value is refused."""

from __future__ import annotations

import argparse

import pytest
from cli_helpers import assert_one_error

from wattprint.cli.main import COMMANDS, build_parser


@pytest.mark.parametrize("argv, said, fix", [
    (["proxy", "--idle-seconds", "-1"], "wattprint proxy: error: argument --idle-seconds: '-1' is not a finite "
     "number >= 0", "fix: pass e.g. --idle-seconds 3"),
    (["import", "codecarbon", "x.csv", "--inferences-per-run", "0"], "wattprint import: error: argument "
     "--inferences-per-run: expected a whole number >= 1, got '0'", "fix: pass e.g. --inferences-per-run 1000"),
    (["serve-bench", "--duration", "x"], "wattprint serve-bench: error: argument --duration:",
     "fix: pass e.g. --duration 20"),
])
def test_import_proxy_and_serve_bench_refuse_a_bad_value_in_one_line(cli, argv, said, fix):
    code, out, err = cli(*argv)
    assert_one_error(code, err, said, fix)
    assert out == ""


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_reports_in_one_line(name, capsys):
    (sub,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    with pytest.raises(SystemExit) as e:
        sub.choices[name].error("something is wrong")
    assert_one_error(int(e.value.code or 0), capsys.readouterr().err, f"wattprint {name}: error: something is wrong")


@pytest.mark.parametrize("argv, said", [
    (["carbon", "--kwhh", "1"], "wattprint carbon: error: unrecognized arguments: --kwhh 1; did you mean --kwh?"),
    (["bench", "--samles=3"], "wattprint bench: error: unrecognized arguments: --samles=3; did you mean --samples?"),
    (["--kwhh", "carbon"], "wattprint carbon: error: unrecognized arguments: --kwhh; did you mean --kwh?"),
    (["tasks", "--no-such-flag"], "wattprint tasks: error: unrecognized arguments: --no-such-flag\n"),
])
def test_a_misspelt_option_is_reported_by_its_command_with_the_closest(cli, argv, said):
    code, out, err = cli(*argv)
    assert_one_error(code, err, said)
    assert out == ""


def test_a_misspelt_command_gets_the_closest(cli):
    code, out, err = cli("measur")
    assert_one_error(code, err, "wattprint: error: argument COMMAND: invalid choice 'measur'; did you mean "
                                "'measure'", "fix: pass one of: doctor, measure,")
    assert out == ""


@pytest.mark.parametrize("argv, said, choices", [
    (["carbon", "--list", "contries"], "argument --list: invalid choice 'contries'; did you mean 'countries'?",
     "countries, regions, clouds, pue, equivalents"),
    (["export", "-o", "x.csv", "--status", "finshed"], "invalid choice 'finshed'; did you mean 'finished'",
     "finished, failed, aborted, running, all"),
    (["compare", "--task", "text-clasification", "--specific", "a", "--general", "b"],
     "invalid choice 'text-clasification'; did you mean 'text-classification'?",
     "text-classification, question-answering, summarization"),
    (["proxy", "--idle-policy", "evn"], "invalid choice 'evn'; did you mean 'even'?", "none, even, proportional"),
    (["serve-bench", "--api", "chta"], "invalid choice 'chta'; did you mean 'chat'?", "chat, completions"),
    (["import", "codcarbon", "x.csv", "--inferences-per-run", "1"],
     "argument source: invalid choice 'codcarbon'; did you mean 'codecarbon'?", "codecarbon"),
    (["bench", "--components", "gpu", "rma"], "invalid choice 'rma'; did you mean 'ram'?", "gpu, cpu, ram"),
])
def test_an_invalid_choice_gets_the_closest(cli, tmp_path, monkeypatch, argv, said, choices):
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(*argv)
    assert_one_error(code, err, said, f"fix: pass one of: {choices}\n")
    assert out == ""


@pytest.mark.parametrize("argv", [
    ["carbon", "--kwh", "1", "--country", ""],
    ["carbon", "--kwh", "1", "--carbon-config", ""],
    ["carbon", "--kwh", "1", "--region", " "],
    ["models", "--task", ""],
    ["sweep", "plan.toml", "--ray-address", ""],
    ["export", "-o", "x.csv", "--task", ""],
])
def test_an_empty_value_is_refused_not_read_as_not_given(cli, tmp_path, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(*argv)
    flag = next(a for a in argv if a.startswith("--") and argv[argv.index(a) + 1].strip() == "")
    assert_one_error(code, err, f"argument {flag}: the value is empty", "fix: give a value, or leave the flag out")
    assert out == ""


def test_flags_that_exclude_each_other_say_to_give_one(cli):
    code, _, err = cli("carbon", "--kwh", "1", "--wh", "2")
    assert_one_error(code, err, "argument --wh: not allowed with argument --kwh", "fix: give only one of the two")
