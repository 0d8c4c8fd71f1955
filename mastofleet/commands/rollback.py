"""`mastofleet rollback INVENTORY`: every app host back to its previous release (`mastofleet.remote.releases`)."""

from __future__ import annotations

import argparse

from mastofleet.commands.arguments import Subcommands, add_data_option, add_inventory_command


def register(subcommands: Subcommands) -> None:
    help_text = "switch every app host back to its previous release, host by host"
    rollback = add_inventory_command(subcommands, "rollback", help_text)
    add_data_option(rollback, "more pyinfra --data KEY=VALUE")
    rollback.set_defaults(handler=handle)


def handle(arguments: argparse.Namespace) -> int:
    from mastofleet.remote.releases import rollback

    return rollback(arguments.inventory, list(arguments.data))
