"""`mastofleet rollback INVENTORY`: every app host back to its previous release (`mastofleet.remote.releases`)."""

from __future__ import annotations

import argparse

from mastofleet.commands.arguments import Subcommands, add_data_option


def register(subcommands: Subcommands) -> None:
    rollback = subcommands.add_parser(
        "rollback", help="switch every app host back to its previous release, host by host"
    )
    rollback.add_argument("inventory")
    add_data_option(rollback, "more pyinfra --data KEY=VALUE")
    rollback.set_defaults(handler=handle)


def handle(arguments: argparse.Namespace) -> int:
    from mastofleet.remote.releases import rollback

    return rollback(arguments.inventory, list(arguments.data))
