"""`mastofleet doctor INVENTORY`: a preflight of every host over SSH (`mastofleet.remote.disk_doctor`)."""

from __future__ import annotations

import argparse

from mastofleet.commands.arguments import Subcommands


def register(subcommands: Subcommands) -> None:
    doctor = subcommands.add_parser(
        "doctor", help="preflight every host: disk latency, space, SMART, load, memory, time"
    )
    doctor.add_argument("inventory")
    doctor.set_defaults(handler=handle)


def handle(arguments: argparse.Namespace) -> int:
    from mastofleet.fleet import load_fleet
    from mastofleet.remote.disk_doctor import doctor_report

    fleet, inventory = load_fleet(arguments.inventory)
    text, healthy = doctor_report(fleet, inventory)
    print(text)
    return 0 if healthy else 1
