"""`mastofleet check INVENTORY`: validate the fleet and print it."""

from __future__ import annotations

import argparse

from mastofleet.commands.arguments import Subcommands, add_inventory_command


def register(subcommands: Subcommands) -> None:
    add_inventory_command(subcommands, "check", "validate the fleet and print it").set_defaults(handler=handle)


def handle(arguments: argparse.Namespace) -> int:
    from mastofleet.project.fleet import load_fleet
    from mastofleet.views.report import fleet_table

    fleet, _ = load_fleet(arguments.inventory)
    print(fleet_table(fleet))
    return 0
