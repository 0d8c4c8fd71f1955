"""`mastofleet lock status | break INVENTORY`: the fleet's lock (`mastofleet.remote.fleet_lock`), and
`holding_the_lock`, which the mutating commands' handlers run under."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from mastofleet.commands.arguments import Subcommands
from mastofleet.commands.errors import Handler


def register(subcommands: Subcommands) -> None:
    lock = subcommands.add_parser("lock", help="who holds the fleet's lock; break a lock whose run is gone")
    verbs = lock.add_subparsers(dest="lock_command", required=True)
    verbs.add_parser("status", help="who holds the lock, with which command, since when").add_argument("inventory")
    broken = verbs.add_parser("break", help="remove the lock of a run that is gone (logged on the host)")
    broken.add_argument("inventory")
    broken.add_argument("--reason", required=True, help="why (written to the host's journal with your name)")
    lock.set_defaults(handler=handle)


def handle(arguments: argparse.Namespace) -> int:
    from mastofleet.project.fleet import load_fleet
    from mastofleet.remote import fleet_lock

    fleet, inventory = load_fleet(arguments.inventory)
    if fleet_lock.lock_host(fleet, inventory) is None:
        print(f"the fleet {fleet.name} has no lock: its hosts are not reached over SSH")
        return 0
    if arguments.lock_command == "status":
        holder = fleet_lock.held_by(fleet, inventory)
        print(f"locked by {holder.describe()}" if holder else f"the fleet {fleet.name} is not locked")
        return 0
    holder = fleet_lock.break_lock(fleet, inventory, arguments.reason)
    print(f"broke the lock of {holder.describe()} (logged on the host)" if holder else "there was no lock")
    return 0


def holding_the_lock(handler: Handler, when: Callable[[argparse.Namespace], bool] = lambda _: True) -> Handler:
    """`handler` run while holding the fleet's lock (only when `when` says the verb changes the fleet)."""

    def run(arguments: argparse.Namespace) -> int:
        if not when(arguments):
            return handler(arguments)
        from mastofleet.remote.fleet_lock import fleet_lock

        with fleet_lock(arguments.inventory, "mastofleet " + " ".join(sys.argv[1:])):
            return handler(arguments)

    return run
