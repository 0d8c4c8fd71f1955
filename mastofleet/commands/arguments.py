"""What the subcommand modules share when they register: the type of the subcommands they join,
a subcommand on an inventory file, and the options several of them take."""

from __future__ import annotations

import argparse
from typing import TypeAlias

Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def add_data_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    """`--data KEY=VALUE`, repeatable, handed on to pyinfra."""
    parser.add_argument("--data", action="append", default=[], help=help_text)


def add_inventory_command(subcommands: Subcommands, name: str, help_text: str) -> argparse.ArgumentParser:
    """A subcommand whose first argument is the fleet's inventory file."""
    command = subcommands.add_parser(name, help=help_text)
    command.add_argument("inventory")
    return command
