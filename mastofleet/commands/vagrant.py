"""`mastofleet vagrant ...`: the Vagrant fleet on this machine (vagrant-lxc; docs/vagrant.md).

box [--rebuild]     build the box mastofleet/trixie64 from the local Debian 13 base and add it
network [--down]    make (or remove) the bridge mfv0 and its firewall the containers use
dry-run             up the reduced fleet, deploy, deploy again (0 changed), testinfra, destroy
"""

from __future__ import annotations

import argparse
import os
import sys

from mastofleet.commands.arguments import Subcommands

DESCRIPTION = "The fleet as Vagrant machines on this machine (vagrant-lxc), from a box built here."
NOT_ROOT = 2


def register(subcommands: Subcommands) -> None:
    vagrant = subcommands.add_parser(
        "vagrant", help="the Vagrant fleet on this machine: box | network | dry-run", description=DESCRIPTION
    )
    commands = vagrant.add_subparsers(dest="vagrant_command", required=True, metavar="COMMAND")
    box = commands.add_parser("box", help="build the box from the local base and add it to Vagrant")
    box.add_argument("--rebuild", action="store_true", help="build it even if the added box is current")
    network = commands.add_parser("network", help="make the bridge and firewall of the lxc containers")
    network.add_argument("--down", action="store_true", help="remove them instead (no container may use them)")
    commands.add_parser("dry-run", help="the whole dry run on the reduced fleet, with its figures")
    vagrant.set_defaults(handler=handle)


def box(rebuild: bool) -> int:
    from mastofleet.local.mirror import discover_mirror
    from mastofleet.vagrant.box import BOX_NAME, box_path, ensure_box, work_directory

    built, seconds = ensure_box(discover_mirror().hosts, rebuild=rebuild)
    if built:
        print(f"built {box_path(work_directory())} in {seconds:.1f} s and added it as {BOX_NAME}")
    else:
        print(f"{BOX_NAME} is current (same base, mirror and recipe): nothing to do")
    return 0


def network(down: bool) -> int:
    from mastofleet.local.mirror import discover_mirror
    from mastofleet.vagrant import network as vagrant_network

    if down:
        vagrant_network.remove_network()
        print(f"removed {vagrant_network.BRIDGE} and the nft table {vagrant_network.TABLE}")
    else:
        vagrant_network.ensure_network(discover_mirror().addresses())
        print(f"{vagrant_network.BRIDGE} is up with {vagrant_network.GATEWAY}/24, confined by {vagrant_network.TABLE}")
    return 0


def handle(arguments: argparse.Namespace) -> int:
    """The verb, as root; what the local fleet's helpers raise is reported as this command's error."""
    from mastofleet.local.errors import LocalFleetError
    from mastofleet.vagrant.errors import VagrantFleetError

    try:
        return dispatch(arguments)
    except LocalFleetError as error:
        raise VagrantFleetError(str(error)) from error


def dispatch(arguments: argparse.Namespace) -> int:
    if os.geteuid() != 0:
        print("mastofleet vagrant: run it as root (LXC containers, a bridge, nftables)", file=sys.stderr)
        return NOT_ROOT
    if arguments.vagrant_command == "box":
        return box(arguments.rebuild)
    if arguments.vagrant_command == "network":
        return network(arguments.down)
    from mastofleet.vagrant.dry_run import dry_run

    dry_run()  # a VagrantFleetError is reported by commands.errors
    return 0
