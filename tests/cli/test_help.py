"""Every flag and argument of every command has help text (argparse ``help=``)."""

from __future__ import annotations

import argparse

from wattprint.cli.main import build_parser


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_every_flag_of_every_command_has_help():
    parser = build_parser()
    commands = _commands(parser)
    assert {"measure", "carbon", "bench", "report", "export", "compare", "breakeven", "proxy"} <= set(commands)
    missing = []
    for name, sub in commands.items():
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            if not (action.help or "").strip():
                missing.append(f"wattprint {name} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []


def test_help_renders_for_every_command(capsys):
    for name, sub in _commands(build_parser()).items():
        text = sub.format_help()
        assert f"wattprint {name}" in text and "usage:" in text
