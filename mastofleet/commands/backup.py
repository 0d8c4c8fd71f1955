"""`mastofleet backup now | list | restore --to TIME`: the fleet's backups (`mastofleet.remote.backups`)."""

from __future__ import annotations

import argparse

from mastofleet.commands.arguments import Subcommands
from mastofleet.commands.lock import holding_the_lock


def register(subcommands: Subcommands) -> None:
    backups = subcommands.add_parser("backup", help="database backups: now | list | restore --to TIME")
    verbs = backups.add_subparsers(dest="backup_command", required=True)
    now = verbs.add_parser("now", help="a pgBackRest backup now, and the Redis dump and secrets")
    now.add_argument("inventory")
    now.add_argument("--type", default="full", help="full (default), diff or incr")
    verbs.add_parser("list", help="the backups and archived WAL in the bucket").add_argument("inventory")
    restore = verbs.add_parser("restore", help="bring the db host to a point in time")
    restore.add_argument("inventory")
    restore.add_argument("--to", required=True, help="the point, e.g. '2026-11-27 14:05:00+00:00'")
    restore.add_argument("--yes", action="store_true", help="really replace the database")
    backups.set_defaults(handler=holding_the_lock(handle, lambda arguments: arguments.backup_command == "restore"))


def handle(arguments: argparse.Namespace) -> int:
    from mastofleet.remote import backups

    if arguments.backup_command == "now":
        return backups.now(arguments.inventory, arguments.type)
    if arguments.backup_command == "list":
        return backups.list_backups(arguments.inventory)
    return backups.restore(arguments.inventory, arguments.to, arguments.yes)
