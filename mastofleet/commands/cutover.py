"""`mastofleet cutover INVENTORY`: promote the db host that replicates the old primary
(`mastofleet.database.cutover`)."""

from __future__ import annotations

import argparse

from mastofleet.commands.arguments import Subcommands


def register(subcommands: Subcommands) -> None:
    cutover = subcommands.add_parser(
        "cutover", help="promote the db host that replicates the old primary, in a short maintenance window"
    )
    cutover.add_argument("inventory")
    cutover.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    cutover.set_defaults(handler=handle)


def handle(arguments: argparse.Namespace) -> int:
    from mastofleet.database.cutover import cutover

    return cutover(arguments.inventory, assume_yes=arguments.yes)
