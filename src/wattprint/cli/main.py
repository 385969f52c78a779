"""The ``wattprint`` command. Each subcommand is a small module in this folder, listed in ``COMMANDS``.

A command module defines ``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``, and
imports nothing heavy at module level, so ``wattprint --help`` and ``wattprint measure`` start fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from wattprint._version import __version__
from wattprint.core.errors import WattprintError

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
}


def _available_commands() -> dict[str, object]:
    mods = {}
    for name, mod in COMMANDS.items():
        try:
            mods[name] = importlib.import_module(f"wattprint.cli.{mod}")
        except ModuleNotFoundError as e:
            if e.name != f"wattprint.cli.{mod}":
                raise
    return mods


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wattprint",
        description="Measure what AI inference costs the planet: energy, carbon, and a task benchmark.",
    )
    parser.add_argument("--version", action="version", version=f"wattprint {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, mod in _available_commands().items():
        p = sub.add_parser(name, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP))
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except WattprintError as e:
        print(f"wattprint: error: {e.message}", file=sys.stderr)
        if e.fix:
            print(f"  fix: {e.fix}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("wattprint: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
