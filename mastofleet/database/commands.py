"""`mastofleet db status` and `mastofleet cutover`."""

from __future__ import annotations

import argparse
import sys

from mastofleet.fleet import load_fleet, project_directory


def status(inventory: str) -> int:
    from mastofleet.database.status import database_status

    fleet, loaded = load_fleet(inventory)
    text, healthy = database_status(fleet, loaded, project_directory(inventory))
    print(text)
    return 0 if healthy else 1


def run(arguments: argparse.Namespace) -> int:
    if arguments.database_command == "status":
        return status(arguments.inventory)
    if arguments.database_command == "cutover":
        from mastofleet.database.cutover import CutoverError, cutover

        try:
            return cutover(arguments.inventory, assume_yes=arguments.yes)
        except CutoverError as error:
            print(f"mastofleet cutover: {error}", file=sys.stderr)
            return 1
    raise AssertionError(arguments.database_command)
