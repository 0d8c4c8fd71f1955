"""`mastofleet media status | verify | finish INVENTORY`: the live media migration (`mastofleet.media.migration`)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from mastofleet.commands.arguments import Subcommands
from mastofleet.commands.lock import holding_the_lock

VERBS = (
    ("status", "objects and bytes in the bucket of the old server's total; write-back and copy figures"),
    ("verify", "compare the old server with the bucket (count, size, checksum); exit 0 only when complete"),
    ("finish", "verify, then turn migration mode off and deploy the edge hosts without the old server"),
)


def register(subcommands: Subcommands) -> None:
    media = subcommands.add_parser("media", help="the live media migration: status | verify | finish")
    verbs = media.add_subparsers(dest="media_command", required=True)
    for name, text in VERBS:
        verbs.add_parser(name, help=text).add_argument("inventory")
    media.set_defaults(handler=holding_the_lock(handle, lambda arguments: arguments.media_command == "finish"))


def handle(arguments: argparse.Namespace) -> int:
    from mastofleet.media import migration

    verb: Callable[[str], int] = getattr(migration, arguments.media_command)
    return verb(arguments.inventory)
