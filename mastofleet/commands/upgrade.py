"""`mastofleet upgrade INVENTORY --version TAG`: a new release with zero downtime (`mastofleet.remote.releases`)."""

from __future__ import annotations

import argparse

from mastofleet.commands.arguments import Subcommands, add_data_option, add_inventory_command


def register(subcommands: Subcommands) -> None:
    help_text = "deploy a new version with zero downtime: prepare, migrate, switch, restart host by host"
    upgrade = add_inventory_command(subcommands, "upgrade", help_text)
    upgrade.add_argument("--version", required=True, help="the release tag to deploy, e.g. v4.6.6")
    upgrade.add_argument("--code", help="for a path code source: the directory holding that version's code")
    upgrade.add_argument(
        "--keep-rollback",
        action="store_true",
        help="hold the post-deployment migrations back, so `mastofleet rollback` stays possible;"
        " the next `mastofleet deploy` runs them",
    )
    add_data_option(upgrade, "more pyinfra --data KEY=VALUE")
    upgrade.set_defaults(handler=handle)


def handle(arguments: argparse.Namespace) -> int:
    from mastofleet.remote.releases import upgrade

    return upgrade(
        arguments.inventory, arguments.version, arguments.code, list(arguments.data), arguments.keep_rollback
    )
