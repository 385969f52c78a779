"""The ``wattprint`` command. Each subcommand is a small module in this folder, listed in ``COMMANDS``.

A command module defines ``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``, and
imports nothing heavy at module level, so ``wattprint --help`` and ``wattprint measure`` start fast.

``main`` owns what every command shares: ``--verbose``/``--quiet`` (see :mod:`wattprint.cli.verbosity`),
one line instead of a traceback for wattprint's errors and instead of the usage dump for argparse's (with the
close matches of a misspelt command, option or choice; see :mod:`wattprint.cli.args`), the shell's exit codes
for signals (130 on Ctrl-C, 143 on SIGTERM) and for a closed pipe (141), and a command whose module cannot be
imported (a missing extra) shown in the help and failing with the extra to install when it is used.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

from wattprint._version import __version__
from wattprint.cli.args import misspelt_options, one_line_errors, refuse_empty
from wattprint.core.errors import ConfigError, WattprintError
from wattprint.core.signals import Interrupted, StopSignals, exit_code

# name -> module under wattprint.cli. Registries, not string branches: a new command is a new line.
COMMANDS: dict[str, str] = {
    "doctor": "doctor",
    "measure": "measure",
    "carbon": "carbon",
    "bench": "bench",
    "tasks": "tasks",
    "models": "models",
    "export": "export",
    "report": "report",
    "compare": "compare",
    "breakeven": "breakeven",
    "import": "import_",
    "sweep": "sweep",
    "proxy": "proxy",
    "serve-bench": "serve_bench",
    "card": "card",
}
# Commands that start the user's own program: it inherits the environment exactly as the user set it.
PASS_ENVIRONMENT = frozenset({"measure"})
# top-level module of an optional library -> the wattprint extra that installs it (pyproject.toml)
EXTRAS: dict[str, str] = {
    "torch": "bench", "transformers": "bench", "diffusers": "bench", "PIL": "bench", "rich": "bench",
    "sentencepiece": "bench", "datasets": "datasets", "pyarrow": "parquet", "matplotlib": "report",
    "ray": "cluster", "yaml": "cluster", "uvicorn": "serve", "starlette": "serve", "httpx": "serve",
    "prometheus_client": "serve", "httptools": "serve", "amdsmi": "amd",
}


class Unavailable:
    """Stands in for a command whose module failed to import: listed in the help, an error when used."""

    def __init__(self, name: str, error: ImportError) -> None:
        self.name = name
        self.error = error
        missing = (error.name or "").split(".")[0]
        self.extra = EXTRAS.get(missing)
        if self.extra:
            self.fix, needs = f"pip install 'wattprint[{self.extra}]'", f"the '{self.extra}' extra"
        elif missing in ("wattprint", ""):
            self.fix = "this installation of wattprint is incomplete: pip install --force-reinstall wattprint"
            needs = error.name or "a module of wattprint"
        else:
            self.fix, needs = f"pip install {missing}", missing
        self.HELP = f"(unavailable: needs {needs})"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("_ignored", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
        parser.set_defaults(_unavailable=True)

    def run(self, args: argparse.Namespace) -> int:
        raise ConfigError(f"`wattprint {self.name}` cannot start: {self.error}", self.fix)


def load_command(name: str) -> Any:
    """The module of command ``name``, or an :class:`Unavailable` that says what is missing."""
    try:
        return importlib.import_module(f"wattprint.cli.{COMMANDS[name]}")
    except ImportError as e:
        return Unavailable(name, e)


def _add_verbosity(parser: argparse.ArgumentParser, default: Any) -> None:
    g = parser.add_argument_group("output")
    g.add_argument("-v", "--verbose", action="store_true", default=default,
                   help="also show the libraries' own logs, warnings and loading bars (transformers, Ray, ...)")
    g.add_argument("-q", "--quiet", action="store_true", default=default,
                   help="only results, warnings and errors: no progress, no notes")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wattprint",
        description="Measure what AI inference costs the planet: energy, carbon, and a task benchmark.",
    )
    one_line_errors(parser)  # a misspelt command gets the close matches
    parser.add_argument("--version", action="version", version=f"wattprint {__version__}")
    _add_verbosity(parser, False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        mod = load_command(name)
        p = sub.add_parser(name, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP))
        mod.add_arguments(p)
        _add_verbosity(p, argparse.SUPPRESS)  # before or after the command name, either works
        p.set_defaults(_run=mod.run)
        one_line_errors(p)  # every command: one line and a fix, never the usage dump
        refuse_empty(p)
    return parser


def _command_parser(parser: argparse.ArgumentParser, name: str | None) -> argparse.ArgumentParser | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices.get(name) if name else None
    return None


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    args, rest = parser.parse_known_args(argv)
    if rest and not getattr(args, "_unavailable", False):
        # said by the command (its name in the message), with its closest options for a misspelt one
        where = _command_parser(parser, args.command) or parser
        where.error(f"unrecognized arguments: {' '.join(rest)}{misspelt_options(where, rest)}")
    if args.verbose and args.quiet:
        parser.error("--verbose and --quiet exclude each other\n  fix: give only one of them")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = _parse(parser, argv)
        if not getattr(args, "_run", None):
            parser.print_help()
            return 2
        return _run(args)
    except BrokenPipeError:
        return _broken_pipe()
    except KeyboardInterrupt as e:  # Ctrl-C while the command was still starting
        return exit_code(e)


def _run(args: argparse.Namespace) -> int:
    from wattprint.cli.verbosity import configured, level_of

    level = level_of(args.verbose, args.quiet)
    with configured(level, library_env=args.command not in PASS_ENVIRONMENT), StopSignals() as stops:
        try:
            code = int(args._run(args) or 0)
            sys.stdout.flush()  # a closed pipe shows here, inside the handler below, not at exit
            if stops.received is not None:  # the command caught the interrupt and ended cleanly (the proxy)
                raise Interrupted(stops.received)
            return code
        except WattprintError as e:
            print(f"wattprint: error: {e.message}", file=sys.stderr)
            if e.fix:
                print(f"  fix: {e.fix}", file=sys.stderr)
            return 2
        except KeyboardInterrupt as e:
            print(f"wattprint: {getattr(e, 'reason', 'interrupted')}", file=sys.stderr)
            return exit_code(e)


def _broken_pipe() -> int:
    """The reader of our output went away (``wattprint models | head``): stop quietly, like a program killed by
    SIGPIPE would. Output still buffered goes to /dev/null so that the interpreter's flush at exit does not
    raise again (the recipe in the Python documentation of ``signal``, "Note on SIGPIPE")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout without a file descriptor (tests capture it)
        pass
    return 128 + int(getattr(signal, "SIGPIPE", 13))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
