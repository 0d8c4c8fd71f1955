"""`mastofleet`: check, render and operate a Mastodon fleet.

Exit codes: 0 done, 1 the fleet (or the operation) has problems, 2 bad input (unreadable
inventory, missing file, not root where root is needed).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from mastofleet.problems import FleetError, InventoryError
from mastofleet.provision.command import register as register_provision
from mastofleet.secrets import SecretError

Handler = Callable[[argparse.Namespace], int]


def _check(arguments: argparse.Namespace) -> int:
    from mastofleet.fleet import load_fleet
    from mastofleet.report import fleet_table

    fleet, _ = load_fleet(arguments.inventory)
    print(fleet_table(fleet))
    return 0


def _render(arguments: argparse.Namespace) -> int:
    from mastofleet.fleet import load_fleet
    from mastofleet.render import render_fleet

    fleet, _ = load_fleet(arguments.inventory)
    if arguments.diagram:
        from mastofleet.diagram import write_diagram

        write_diagram(fleet, Path(arguments.diagram))
        print(f"drew {len(fleet.hosts)} hosts into {arguments.diagram}")
        if arguments.output is None:
            return 0
    if arguments.output is None:
        raise InventoryError("render needs an output directory, or --diagram FILE.svg")
    written = render_fleet(fleet, Path(arguments.output))
    print(f"wrote {len(written)} files for {len(fleet.hosts)} hosts into {arguments.output} (secrets masked)")
    return 0


def _secrets(arguments: argparse.Namespace) -> int:
    from mastofleet import secrets_command

    return secrets_command.run(arguments)


def _local(arguments: argparse.Namespace) -> int:
    from mastofleet.local.command import run

    return run(list(arguments.rest))


def _deploy(arguments: argparse.Namespace) -> int:
    from mastofleet.deploy_command import run_deploy
    from mastofleet.disk_guard import FORCE

    data = list(arguments.data) + ([f"{FORCE}=true"] if arguments.force_disk else [])
    return run_deploy(arguments.inventory, data, list(arguments.limit))


def _doctor(arguments: argparse.Namespace) -> int:
    from mastofleet.doctor import doctor_report
    from mastofleet.fleet import load_fleet

    fleet, inventory = load_fleet(arguments.inventory)
    text, healthy = doctor_report(fleet, inventory)
    print(text)
    return 0 if healthy else 1


def _upgrade(arguments: argparse.Namespace) -> int:
    from mastofleet.upgrade import RolloutError, upgrade

    try:
        return upgrade(arguments.inventory, arguments.version, arguments.code, list(arguments.data))
    except RolloutError as error:
        print(f"mastofleet: {error}", file=sys.stderr)
        return 1


def _rollback(arguments: argparse.Namespace) -> int:
    from mastofleet.upgrade import RolloutError, rollback

    try:
        return rollback(arguments.inventory, list(arguments.data))
    except RolloutError as error:
        print(f"mastofleet: {error}", file=sys.stderr)
        return 1


def _status(arguments: argparse.Namespace) -> int:
    from mastofleet.fleet import load_fleet
    from mastofleet.status import fleet_status

    fleet, inventory = load_fleet(arguments.inventory)
    text, healthy = fleet_status(fleet, inventory)
    print(text)
    return 0 if healthy else 1


def _media(arguments: argparse.Namespace) -> int:
    from mastofleet.media import commands

    handler: Callable[[str], int] = getattr(commands, arguments.media_command)
    return handler(arguments.inventory)


def _backup(arguments: argparse.Namespace) -> int:
    from mastofleet import backup_command
    from mastofleet.remote import RemoteError

    try:
        if arguments.backup_command == "now":
            return backup_command.now(arguments.inventory, arguments.type)
        if arguments.backup_command == "list":
            return backup_command.list_backups(arguments.inventory)
        return backup_command.restore(arguments.inventory, arguments.to, arguments.yes)
    except RemoteError as error:  # a host unreachable, or a command on it failed: which, and what it printed
        print(f"mastofleet: {error}", file=sys.stderr)
        return 1


def _database(arguments: argparse.Namespace) -> int:
    from mastofleet.database.commands import run

    return run(arguments)


def _reference(arguments: argparse.Namespace) -> int:
    from mastofleet.reference import reference_markdown

    print(reference_markdown())
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="mastofleet", description=__doc__.splitlines()[0] if __doc__ else None)
    commands = top.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check", help="validate the fleet and print it")
    check.add_argument("inventory")
    check.set_defaults(handler=_check)

    render = commands.add_parser("render", help="write every file the deploy would put on every host")
    render.add_argument("inventory")
    render.add_argument("output", nargs="?", help="directory for every host's files")
    render.add_argument("--diagram", metavar="FILE.svg", help="draw the fleet as SVG with Graphviz (docs/fleet.svg)")
    render.set_defaults(handler=_render)

    deploy = commands.add_parser("deploy", help="validate, then run deploy.py on the fleet and record the run")
    deploy.add_argument("inventory")
    deploy.add_argument("--data", action="append", default=[], help="KEY=VALUE passed to pyinfra")
    deploy.add_argument("--limit", action="append", default=[], help="only these hosts or groups")
    deploy.add_argument(
        "--force-disk", action="store_true", help="deploy the db role even onto a disk that fails the doctor"
    )
    deploy.set_defaults(handler=_deploy)

    upgrade = commands.add_parser(
        "upgrade", help="deploy a new version with zero downtime: prepare, migrate, switch, restart host by host"
    )
    upgrade.add_argument("inventory")
    upgrade.add_argument("--version", required=True, help="the release tag to deploy, e.g. v4.6.6")
    upgrade.add_argument("--code", help="for a path code source: the directory holding that version's code")
    upgrade.add_argument("--data", action="append", default=[], help="more pyinfra --data KEY=VALUE")
    upgrade.set_defaults(handler=_upgrade)

    rollback = commands.add_parser("rollback", help="switch every app host back to its previous release, host by host")
    rollback.add_argument("inventory")
    rollback.add_argument("--data", action="append", default=[], help="more pyinfra --data KEY=VALUE")
    rollback.set_defaults(handler=_rollback)

    doctor = commands.add_parser("doctor", help="preflight every host: disk latency, space, SMART, load, memory, time")
    doctor.add_argument("inventory")
    doctor.set_defaults(handler=_doctor)

    status = commands.add_parser("status", help="services of every host and the site's health through nginx")
    status.add_argument("inventory")
    status.set_defaults(handler=_status)

    secrets = commands.add_parser("secrets", help="the fleet's age-encrypted secrets")
    secret_commands = secrets.add_subparsers(dest="secrets_command", required=True)
    init = secret_commands.add_parser("init", help="generate every secret once")
    init.add_argument("inventory")
    init.add_argument("--recipient", action="append", default=[], help="age public key (repeatable)")
    init.add_argument("--key-file", help="create a new age key here and encrypt to it")
    init.add_argument("--force", action="store_true", help="regenerate secrets that already exist")
    init.add_argument(
        "--generate-missing",
        action="store_true",
        help="also fill any other secret the fleet references with random text (test fleets only)",
    )
    rotate = secret_commands.add_parser(
        "rotate", help="a new postgres_password or redis_password, applied in order by a deploy"
    )
    rotate.add_argument("name")
    rotate.add_argument("inventory")
    rotate.add_argument("--no-deploy", action="store_true", help="only store the new value")
    show = secret_commands.add_parser("show", help="list the secrets (names only)")
    show.add_argument("inventory")
    show.add_argument("--names", action="store_true", required=True)
    set_secret = secret_commands.add_parser("set", help="store one secret, value read from stdin")
    set_secret.add_argument("inventory")
    set_secret.add_argument("name")
    secrets.set_defaults(handler=_secrets)

    media = commands.add_parser("media", help="the live media migration: status | verify | finish")
    media_commands = media.add_subparsers(dest="media_command", required=True)
    for name, text in (
        ("status", "objects and bytes in the bucket of the old server's total; write-back and copy figures"),
        ("verify", "compare the old server with the bucket (count, size, checksum); exit 0 only when complete"),
        ("finish", "verify, then turn migration mode off and deploy the edge hosts without the old server"),
    ):
        media_commands.add_parser(name, help=text).add_argument("inventory")
    media.set_defaults(handler=_media)

    backups = commands.add_parser("backup", help="database backups: now | list | restore --to TIME")
    backup_commands = backups.add_subparsers(dest="backup_command", required=True)
    backup_now = backup_commands.add_parser("now", help="a pgBackRest backup now, and the Redis dump and secrets")
    backup_now.add_argument("inventory")
    backup_now.add_argument("--type", default="full", help="full (default), diff or incr")
    backup_commands.add_parser("list", help="the backups and archived WAL in the bucket").add_argument("inventory")
    backup_restore = backup_commands.add_parser("restore", help="bring the db host to a point in time")
    backup_restore.add_argument("inventory")
    backup_restore.add_argument("--to", required=True, help="the point, e.g. '2026-11-27 14:05:00+00:00'")
    backup_restore.add_argument("--yes", action="store_true", help="really replace the database")
    backups.set_defaults(handler=_backup)
    database = commands.add_parser("db", help="PostgreSQL replication: status")
    database_commands = database.add_subparsers(dest="database_command", required=True)
    database_commands.add_parser(
        "status", help="each PostgreSQL server, which streams from which, lag in bytes and seconds"
    ).add_argument("inventory")
    database.set_defaults(handler=_database)

    cutover = commands.add_parser(
        "cutover", help="promote the db host that replicates the old primary, in a short maintenance window"
    )
    cutover.add_argument("inventory")
    cutover.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    cutover.set_defaults(handler=_database, database_command="cutover")

    reference = commands.add_parser("reference", help="print the configuration reference (markdown)")
    reference.set_defaults(handler=_reference)

    register_provision(commands)

    local = commands.add_parser("local", help="the local fleet on systemd-nspawn: up | down | status | ssh")
    local.add_argument("rest", nargs=argparse.REMAINDER)
    local.set_defaults(handler=_local)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parser().parse_args(argv)
    handler: Handler = arguments.handler
    try:
        return handler(arguments)
    except InventoryError as error:
        print(f"mastofleet: {error}", file=sys.stderr)
        return 2
    except FleetError as error:
        print(f"mastofleet: {error}", file=sys.stderr)
        return 1
    except SecretError as error:
        print(f"mastofleet: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
