"""``--help`` of every command explains every flag and argument it lists."""

import argparse

from aiwatch.cli import build_parser


def undocumented(parser: argparse.ArgumentParser, name: str = "aiwatch") -> list[str]:
    missing = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command, sub in action.choices.items():
                missing += undocumented(sub, f"{name} {command}")
        elif not action.help and not isinstance(action, argparse._HelpAction):
            missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    return missing


def test_every_flag_and_argument_has_help() -> None:
    """No bare ``--log.level {debug,…}`` or ``FILE`` lines without a word of explanation."""
    assert undocumented(build_parser()) == []
