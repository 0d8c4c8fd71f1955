"""What the subcommand modules share when they register: the type of the subcommands they join,
and the options several of them take."""

from __future__ import annotations

import argparse
from typing import TypeAlias

Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def add_data_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    """`--data KEY=VALUE`, repeatable, handed on to pyinfra."""
    parser.add_argument("--data", action="append", default=[], help=help_text)
