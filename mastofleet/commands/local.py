"""`mastofleet local ...`: boot, inspect, enter and remove the local fleet.

up [HOST ...] [--fresh]     boot hosts (default: the six default ones); idempotent
down [HOST ...] [--purge]   power off and remove hosts; all of them: network too
snapshot [HOST ...]         keep the running hosts as they are (a read-only layer each)
restore [HOST ...]          back to the newest snapshot in seconds (default: the whole fleet)
status                      a table of hosts, their systemd state and memory
ssh HOST [COMMAND ...]      ssh in as root with the harness key
exec HOST COMMAND ...       run a command inside a host without SSH (for rescue)
"""

import argparse
import subprocess
import sys

from mastofleet.commands import errors
from mastofleet.commands.arguments import Subcommands
from mastofleet.local.machines import DEFAULT_MACHINES, MACHINES

USAGE_ERROR = 2
DESCRIPTION = "The fleet as real systemd hosts on this machine (systemd-nspawn)."


def add_verbs(local: argparse.ArgumentParser) -> None:
    """up, down, snapshot, restore, status, ssh and exec, with their options, under `local`."""
    commands = local.add_subparsers(dest="local_command", required=True, metavar="COMMAND")
    up = commands.add_parser("up", help="boot hosts and wait until they run and answer SSH")
    up.add_argument(
        "hosts",
        nargs="*",
        metavar="HOST",
        help=f"default: {' '.join(DEFAULT_MACHINES)}",
    )
    up.add_argument(
        "--fresh",
        action="store_true",
        help="throw away the named hosts' overlays and boot them anew",
    )
    down = commands.add_parser("down", help="power off and remove hosts (default: all)")
    down.add_argument("hosts", nargs="*", metavar="HOST")
    down.add_argument(
        "--purge",
        action="store_true",
        help="also delete the base image and the SSH key",
    )
    snapshot = commands.add_parser("snapshot", help="keep the hosts as they are now, to restore in seconds")
    snapshot.add_argument("hosts", nargs="*", metavar="HOST", help="default: every running host")
    restore = commands.add_parser("restore", help="bring hosts back to their newest snapshot")
    restore.add_argument(
        "hosts",
        nargs="*",
        metavar="HOST",
        help="default: every host with a snapshot, the fleet's secrets too; hosts without one are removed",
    )
    commands.add_parser("status", help="show every host's state")
    ssh_command = commands.add_parser("ssh", help="ssh into a host as root")
    ssh_command.add_argument("host", metavar="HOST")
    ssh_command.add_argument("remote_command", nargs=argparse.REMAINDER, metavar="COMMAND")
    exec_command = commands.add_parser("exec", help="run a command in a host through nsenter (no SSH)")
    exec_command.add_argument("host", metavar="HOST")
    exec_command.add_argument("inner_command", nargs=argparse.REMAINDER, metavar="COMMAND")
    local.set_defaults(handler=handle)


def register(subcommands: Subcommands) -> None:
    local = subcommands.add_parser(
        "local",
        help="the local fleet on systemd-nspawn: up | down | snapshot | restore | status | ssh | exec",
        description=DESCRIPTION,
    )
    add_verbs(local)


def parser() -> argparse.ArgumentParser:
    """`mastofleet local` on its own, for `python -m mastofleet.local` and `run`."""
    root = argparse.ArgumentParser(prog="mastofleet local", description=DESCRIPTION)
    add_verbs(root)
    return root


def unknown_hosts(arguments: argparse.Namespace) -> list[str]:
    """The host names on the command line that are not machines, whatever the subcommand.

    (argparse's `choices` would do this, but rejects an empty `nargs="*"` before 3.12.)
    """
    given = vars(arguments)
    named = [*given.get("hosts", []), *([given["host"]] if "host" in given else [])]
    return [name for name in named if name not in MACHINES]


def dispatch(arguments: argparse.Namespace) -> int:
    from mastofleet.local import lifecycle, lock, machine, snapshot, ssh, status_table  # loaded when a verb runs

    if arguments.local_command == "up":
        with lock.exclusive():
            return lifecycle.up(arguments.hosts or list(DEFAULT_MACHINES), arguments.fresh)
    if arguments.local_command == "down":
        with lock.exclusive():
            return lifecycle.down(arguments.hosts, arguments.purge)
    if arguments.local_command == "snapshot":
        with lock.exclusive():
            return snapshot.take(arguments.hosts)
    if arguments.local_command == "restore":
        with lock.exclusive():
            return snapshot.restore(arguments.hosts)
    if arguments.local_command == "status":
        return status_table.status()
    if arguments.local_command == "ssh":
        return subprocess.call(ssh.command(MACHINES[arguments.host], arguments.remote_command))
    if arguments.local_command == "exec":
        argv = machine.enter_command(arguments.host, arguments.inner_command)
        return subprocess.call(argv, env=machine.CONTAINER_ENVIRONMENT)
    raise AssertionError(arguments.local_command)


def handle(arguments: argparse.Namespace) -> int:
    """What `local` was asked, after the checks that need no host (names, a command for exec, root)."""
    unknown = unknown_hosts(arguments)
    if unknown:
        print(
            f"mastofleet local: unknown host {', '.join(unknown)}; the machines are: {' '.join(MACHINES)}",
            file=sys.stderr,
        )
        return USAGE_ERROR
    if arguments.local_command == "exec" and not arguments.inner_command:
        print(
            "mastofleet local: exec needs a command, e.g. `exec nixie systemctl --failed`",
            file=sys.stderr,
        )
        return USAGE_ERROR
    from mastofleet.local.prerequisites import root_problem

    problem = root_problem()
    if problem:
        print(problem, file=sys.stderr)
        return USAGE_ERROR
    return dispatch(arguments)  # a LocalFleetError is reported by commands.errors


def run(argv: list[str]) -> int:
    """Run `mastofleet local` with ``argv`` (after `local`); return the exit code."""
    try:
        arguments = parser().parse_args(argv)
    except SystemExit as exit_request:  # --help, or a usage error already printed
        return int(exit_request.code or 0)
    return errors.run(arguments)
