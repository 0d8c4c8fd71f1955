"""`mastofleet render INVENTORY OUTPUT`: every file the deploy would put on every host, secrets masked."""

from __future__ import annotations

import argparse
from pathlib import Path

from mastofleet.commands.arguments import Subcommands, add_inventory_command


def register(subcommands: Subcommands) -> None:
    render = add_inventory_command(subcommands, "render", "write every file the deploy would put on every host")
    render.add_argument("output")
    render.set_defaults(handler=handle)


def handle(arguments: argparse.Namespace) -> int:
    from mastofleet.plan.render import render_fleet
    from mastofleet.project.fleet import load_fleet

    fleet, _ = load_fleet(arguments.inventory)
    written = render_fleet(fleet, Path(arguments.output))
    print(f"wrote {len(written)} files for {len(fleet.hosts)} hosts into {arguments.output} (secrets masked)")
    return 0
