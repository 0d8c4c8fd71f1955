"""`mastofleet reference`: the configuration reference, generated from the model's field descriptions."""

from __future__ import annotations

import argparse

from mastofleet.commands.arguments import Subcommands


def register(subcommands: Subcommands) -> None:
    reference = subcommands.add_parser("reference", help="print the configuration reference (markdown)")
    reference.set_defaults(handler=handle)


def handle(arguments: argparse.Namespace) -> int:
    from mastofleet.views.reference import reference_markdown

    print(reference_markdown())
    return 0
