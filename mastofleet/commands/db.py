"""`mastofleet db status INVENTORY`: PostgreSQL replication (`mastofleet.database.replication_status`)."""

from __future__ import annotations

import argparse

from mastofleet.commands.arguments import Subcommands


def register(subcommands: Subcommands) -> None:
    database = subcommands.add_parser("db", help="PostgreSQL replication: status")
    verbs = database.add_subparsers(dest="database_command", required=True)
    verbs.add_parser(
        "status", help="each PostgreSQL server, which streams from which, lag in bytes and seconds"
    ).add_argument("inventory")
    database.set_defaults(handler=handle)


def status(inventory: str) -> int:
    from mastofleet.database.replication_status import database_status
    from mastofleet.project.fleet import load_fleet, project_directory

    fleet, loaded = load_fleet(inventory)
    text, healthy = database_status(fleet, loaded, project_directory(inventory))
    print(text)
    return 0 if healthy else 1


def handle(arguments: argparse.Namespace) -> int:
    if arguments.database_command == "status":
        return status(arguments.inventory)
    raise AssertionError(arguments.database_command)
