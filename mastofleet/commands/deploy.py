"""`mastofleet deploy INVENTORY`: validate, then run deploy.py on the fleet (`mastofleet.runtime.pyinfra_deploy`)."""

from __future__ import annotations

import argparse

from mastofleet.commands.arguments import Subcommands, add_data_option, add_inventory_command


def register(subcommands: Subcommands) -> None:
    help_text = "validate, then run deploy.py on the fleet and record the run"
    deploy = add_inventory_command(subcommands, "deploy", help_text)
    add_data_option(deploy, "KEY=VALUE passed to pyinfra")
    deploy.add_argument("--limit", action="append", default=[], help="only these hosts or groups")
    deploy.add_argument(
        "--force-disk", action="store_true", help="deploy the db role even onto a disk that fails the doctor"
    )
    deploy.set_defaults(handler=handle)


def handle(arguments: argparse.Namespace) -> int:
    from mastofleet.runtime.disk_guard import FORCE
    from mastofleet.runtime.pyinfra_deploy import run_deploy

    data = list(arguments.data) + ([f"{FORCE}=true"] if arguments.force_disk else [])
    return run_deploy(arguments.inventory, data, list(arguments.limit))
