"""`mastofleet status INVENTORY`: each host's services, and the site's health through nginx
(`mastofleet.remote.service_status`)."""

from __future__ import annotations

import argparse

from mastofleet.commands.arguments import Subcommands, add_inventory_command
from mastofleet.commands.health import print_report


def register(subcommands: Subcommands) -> None:
    help_text = "services of every host and the site's health through nginx"
    add_inventory_command(subcommands, "status", help_text).set_defaults(handler=handle)


def handle(arguments: argparse.Namespace) -> int:
    from mastofleet.remote.service_status import fleet_status

    return print_report(arguments.inventory, fleet_status)
