"""`mastofleet cutover INVENTORY`: promote the db host that replicates the old primary
(`mastofleet.database.cutover`)."""

from __future__ import annotations

import argparse

from mastofleet.commands.arguments import Subcommands, add_inventory_command
from mastofleet.commands.lock import holding_the_lock


def register(subcommands: Subcommands) -> None:
    help_text = "promote the db host that replicates the old primary, in a short maintenance window"
    cutover = add_inventory_command(subcommands, "cutover", help_text)
    cutover.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    cutover.add_argument(
        "--abort",
        action="store_true",
        help="go back from a stopped cutover (before the promote): old primary unfenced, site serving from it",
    )
    cutover.set_defaults(handler=holding_the_lock(handle))


def handle(arguments: argparse.Namespace) -> int:
    from mastofleet.database.cutover import abort, cutover

    if arguments.abort:
        return abort(arguments.inventory)
    return cutover(arguments.inventory, assume_yes=arguments.yes)
