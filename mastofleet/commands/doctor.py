"""`mastofleet doctor INVENTORY`: a preflight of every host over SSH (`mastofleet.remote.disk_doctor`)."""

from __future__ import annotations

import argparse

from mastofleet.commands.arguments import Subcommands, add_inventory_command
from mastofleet.commands.health import print_report


def register(subcommands: Subcommands) -> None:
    help_text = "preflight every host: disk latency, space, SMART, load, memory, time"
    add_inventory_command(subcommands, "doctor", help_text).set_defaults(handler=handle)


def handle(arguments: argparse.Namespace) -> int:
    from mastofleet.remote.disk_doctor import doctor_report

    return print_report(arguments.inventory, doctor_report)
