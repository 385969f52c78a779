"""What every command shares (wattprint.cli.main): --verbose/--quiet, signals' exit codes, a closed pipe, and a
command whose module cannot be imported."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import subprocess
import sys

import pytest

from wattprint.cli import main as cli_main
from wattprint.cli.main import COMMANDS, build_parser, main
from wattprint.core.signals import Interrupted


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_verbose_and_quiet_are_options_of_every_command(name):
    (sub,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    options = sub.choices[name]._option_string_actions
    assert {"-v", "--verbose", "-q", "--quiet"} <= set(options)


def test_verbose_and_quiet_go_before_or_after_the_command_name():
    parser = build_parser()
    after, before = parser.parse_args(["tasks", "-q"]), parser.parse_args(["--verbose", "tasks"])
    assert (after.quiet, after.verbose) == (True, False)
    assert (before.quiet, before.verbose) == (False, True)
    plain = parser.parse_args(["tasks"])
    assert (plain.quiet, plain.verbose) == (False, False)


def test_verbose_and_quiet_together_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as e:
        main(["-v", "tasks", "-q"])
    assert e.value.code == 2 and "exclude each other" in capsys.readouterr().err


def _failing_import(monkeypatch, module: str, missing: str):
    real = importlib.import_module

    def fake(name, *a, **kw):
        if name == f"wattprint.cli.{module}":
            raise ModuleNotFoundError(f"No module named '{missing}'", name=missing)
        return real(name, *a, **kw)

    monkeypatch.setattr(cli_main.importlib, "import_module", fake)


def test_a_command_whose_dependency_is_missing_says_which_extra_to_install(monkeypatch, capsys):
    _failing_import(monkeypatch, "sweep", "ray")
    assert main(["sweep", "plan.toml", "--store", "x.db", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == ["wattprint: error: `wattprint sweep` cannot start: No module named 'ray'",
                                "  fix: pip install 'wattprint[cluster]'"]
    assert main(["tasks"]) == 0  # the other commands still work


def test_a_command_whose_module_is_gone_is_listed_and_an_error_never_silently_dropped(monkeypatch, capsys):
    _failing_import(monkeypatch, "proxy", "wattprint.cli.proxy")
    with pytest.raises(SystemExit):
        main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "proxy (unavailable: needs wattprint.cli.proxy)" in out
    assert main(["proxy", "--upstream", "http://127.0.0.1:1"]) == 2
    err = capsys.readouterr().err
    assert "`wattprint proxy` cannot start" in err and "pip install --force-reinstall wattprint" in err


def test_real_commands_still_refuse_unknown_arguments(capsys):
    with pytest.raises(SystemExit) as e:
        main(["tasks", "--no-such-flag"])
    assert e.value.code == 2 and "unrecognized arguments: --no-such-flag" in capsys.readouterr().err


@pytest.mark.parametrize("signum, code, word", [(signal.SIGTERM, 143, "terminated (SIGTERM)"),
                                                (signal.SIGINT, 130, "interrupted")])
def test_a_stop_signal_inside_a_command_gives_128_plus_its_number(monkeypatch, capsys, signum, code, word):
    import wattprint.cli.tasks as tasks

    def run(args):
        os.kill(os.getpid(), signum)  # delivered to the main thread: the handler main installed raises
        raise AssertionError("the signal did not interrupt the command")

    monkeypatch.setattr(tasks, "run", run)
    assert main(["tasks"]) == code
    assert word in capsys.readouterr().err


def test_a_command_that_shuts_down_cleanly_on_a_signal_still_exits_with_its_code(monkeypatch, capsys):
    """A server (the proxy's uvicorn) catches the interrupt and returns normally: the exit code says SIGTERM."""
    import wattprint.cli.tasks as tasks

    def run(args):
        try:
            os.kill(os.getpid(), signal.SIGTERM)
        except KeyboardInterrupt:
            return 0
        raise AssertionError("not interrupted")

    monkeypatch.setattr(tasks, "run", run)
    assert main(["tasks"]) == 143
    assert isinstance(Interrupted(signal.SIGTERM), KeyboardInterrupt)


def test_handlers_are_restored_after_main(monkeypatch):
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    assert main(["tasks"]) == 0
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def _closed_pipe_run(*args: str) -> subprocess.CompletedProcess:
    """The command with its stdout a pipe whose reader has already gone (``wattprint models | head -0``)."""
    r, w = os.pipe()
    os.close(r)
    try:
        proc = subprocess.run([sys.executable, "-m", "wattprint", *args], stdout=w, stderr=subprocess.PIPE,
                              text=True, timeout=120)
    finally:
        os.close(w)
    return proc


@pytest.mark.parametrize("args", [("models",), ("tasks",), ("carbon", "--kwh", "1", "--country", "FR")])
def test_output_into_a_closed_pipe_ends_quietly_with_141(args):
    proc = _closed_pipe_run(*args)
    assert proc.returncode == 141, proc.stderr
    assert proc.stderr == ""  # no BrokenPipeError traceback, no "Exception ignored" at exit


def test_library_logs_are_hidden_by_default_and_shown_with_verbose(capsys):
    """A library's warning and wattprint's own note, under each level (the loggers main configures)."""
    import wattprint.cli.tasks as tasks

    def run(args):
        logging.getLogger("transformers.modeling_utils").warning("library noise")
        logging.getLogger("wattprint.models.hub").info("a fallback the user may want to see")
        logging.getLogger("wattprint.bench").warning("a warning")
        print("result")
        return 0

    saved = tasks.run
    tasks.run = run
    try:
        outs = {}
        for flag in ("-q", None, "-v"):
            assert main(["tasks"] + ([flag] if flag else [])) == 0
            outs[flag] = capsys.readouterr()
    finally:
        tasks.run = saved
    assert all(o.out == "result\n" for o in outs.values())
    assert outs["-q"].err == "wattprint: warning: a warning\n"
    assert outs[None].err == "wattprint: a fallback the user may want to see\nwattprint: warning: a warning\n"
    assert "a fallback the user may want to see" in outs["-v"].err and "a warning" in outs["-v"].err


def test_library_switches_are_set_for_the_command_and_restored(monkeypatch):
    import wattprint.cli.tasks as tasks

    for k in ("TRANSFORMERS_VERBOSITY", "HF_HUB_DISABLE_PROGRESS_BARS"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("DIFFUSERS_VERBOSITY", "info")  # the user's own setting wins
    seen = {}

    def run(args):
        seen.update({k: os.environ.get(k) for k in ("TRANSFORMERS_VERBOSITY", "HF_HUB_DISABLE_PROGRESS_BARS",
                                                      "DIFFUSERS_VERBOSITY")})
        seen["ray"] = logging.getLogger("ray").getEffectiveLevel()
        return 0

    monkeypatch.setattr(tasks, "run", run)
    assert main(["tasks"]) == 0
    assert seen == {"TRANSFORMERS_VERBOSITY": "error", "HF_HUB_DISABLE_PROGRESS_BARS": "1",
                    "DIFFUSERS_VERBOSITY": "info", "ray": logging.ERROR}
    assert "TRANSFORMERS_VERBOSITY" not in os.environ and os.environ["DIFFUSERS_VERBOSITY"] == "info"
    seen.clear()
    assert main(["tasks", "--verbose"]) == 0
    assert seen["TRANSFORMERS_VERBOSITY"] is None


def test_measure_passes_the_environment_to_its_command_unchanged(tmp_path, monkeypatch):
    monkeypatch.delenv("TRANSFORMERS_VERBOSITY", raising=False)
    out = tmp_path / "env.txt"
    code = (f"import os; open({str(out)!r}, 'w').write(os.environ.get('TRANSFORMERS_VERBOSITY', '<unset>'))")
    assert main(["measure", "--gpus", "none", "--", sys.executable, "-c", code]) == 0
    assert out.read_text() == "<unset>"


def test_a_logged_exception_keeps_its_traceback(monkeypatch, capsys):
    import wattprint.cli.tasks as tasks

    def run(args):
        try:
            raise RuntimeError("meter broke")
        except RuntimeError:
            logging.getLogger("wattprint.serve").exception("wattprint: meter interval failed")
        return 0

    monkeypatch.setattr(tasks, "run", run)
    assert main(["tasks"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("wattprint: error: meter interval failed\nTraceback") and "RuntimeError: meter broke" in err
