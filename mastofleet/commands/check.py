"""`mastofleet check INVENTORY`: validate the fleet and print it."""

from __future__ import annotations

import argparse

from mastofleet.commands.arguments import Subcommands


def register(subcommands: Subcommands) -> None:
    check = subcommands.add_parser("check", help="validate the fleet and print it")
    check.add_argument("inventory")
    check.set_defaults(handler=handle)


def handle(arguments: argparse.Namespace) -> int:
    from mastofleet.fleet import load_fleet
    from mastofleet.report import fleet_table

    fleet, _ = load_fleet(arguments.inventory)
    print(fleet_table(fleet))
    return 0
