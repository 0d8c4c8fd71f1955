"""`mastofleet check INVENTORY`: validate the fleet and print it (`--listeners`: what listens where)."""

from __future__ import annotations

import argparse

from mastofleet.commands.arguments import Subcommands, add_inventory_command


def register(subcommands: Subcommands) -> None:
    command = add_inventory_command(subcommands, "check", "validate the fleet and print it")
    command.add_argument(
        "--listeners", action="store_true", help="print every listener of every host (address, port, service)"
    )
    command.set_defaults(handler=handle)


def handle(arguments: argparse.Namespace) -> int:
    from mastofleet.model.problems import FleetError
    from mastofleet.plan.listeners import listener_problems, listeners_table
    from mastofleet.project.fleet import load_fleet
    from mastofleet.views.report import fleet_table

    fleet, _ = load_fleet(arguments.inventory)
    problems = listener_problems(fleet)  # needs every role's openings, which the model does not know
    if problems:
        raise FleetError(problems)
    print(listeners_table(fleet) if arguments.listeners else fleet_table(fleet))
    return 0
