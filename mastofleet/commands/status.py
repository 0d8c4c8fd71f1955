"""`mastofleet status INVENTORY`: each host's services, and the site's health through nginx
(`mastofleet.remote.service_status`)."""

from __future__ import annotations

import argparse

from mastofleet.commands.arguments import Subcommands


def register(subcommands: Subcommands) -> None:
    status = subcommands.add_parser("status", help="services of every host and the site's health through nginx")
    status.add_argument("inventory")
    status.set_defaults(handler=handle)


def handle(arguments: argparse.Namespace) -> int:
    from mastofleet.fleet import load_fleet
    from mastofleet.remote.service_status import fleet_status

    fleet, inventory = load_fleet(arguments.inventory)
    text, healthy = fleet_status(fleet, inventory)
    print(text)
    return 0 if healthy else 1
