"""`mastofleet render INVENTORY [OUTPUT] [--diagram FILE.svg]`: every file the deploy would put on every
host, secrets masked; and the fleet drawn as a picture."""

from __future__ import annotations

import argparse
from pathlib import Path

from mastofleet.commands.arguments import Subcommands, add_inventory_command


def register(subcommands: Subcommands) -> None:
    render = add_inventory_command(subcommands, "render", "write every file the deploy would put on every host")
    render.add_argument("output", nargs="?", help="directory for every host's files")
    render.add_argument("--diagram", metavar="FILE.svg", help="draw the fleet as SVG with Graphviz (docs/fleet.svg)")
    render.set_defaults(handler=handle)


def handle(arguments: argparse.Namespace) -> int:
    from mastofleet.model.problems import InventoryError
    from mastofleet.plan.render import render_fleet
    from mastofleet.project.fleet import load_fleet

    fleet, _ = load_fleet(arguments.inventory)
    if arguments.diagram:
        from mastofleet.plan.diagram import write_diagram

        write_diagram(fleet, Path(arguments.diagram))
        print(f"drew {len(fleet.hosts)} hosts into {arguments.diagram}")
        if arguments.output is None:
            return 0
    if arguments.output is None:
        raise InventoryError("render needs an output directory, or --diagram FILE.svg")
    written = render_fleet(fleet, Path(arguments.output))
    print(f"wrote {len(written)} files for {len(fleet.hosts)} hosts into {arguments.output} (secrets masked)")
    return 0
