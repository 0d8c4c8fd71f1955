"""The one place that turns what a command raises into its exit code and the message the operator reads.

Exit codes: 0 done, 1 the fleet (or the operation) has problems, 2 bad input (unreadable
inventory, missing file, not root where root is needed). Any other exception is a bug in
mastofleet and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass

DONE = 0
PROBLEMS = 1
BAD_INPUT = 2
OWN_CODE = -1  # the error carries its exit code (`exit_code`), as provisioning's errors do

Handler = Callable[[argparse.Namespace], int]


@dataclass(frozen=True)
class Reported:
    """An error the operator is told about: the class (by module and name, so that nothing is
    imported to recognise it: an error of a module never loaded cannot have been raised), its exit
    code and the message's prefix, formatted with the command line's arguments."""

    module: str
    name: str
    exit_code: int
    prefix: str = "mastofleet"

    def matches(self, error: BaseException) -> bool:
        module = sys.modules.get(self.module)
        kind = getattr(module, self.name, None) if module else None
        return isinstance(kind, type) and isinstance(error, kind)


REPORTED = (
    Reported("mastofleet.model.problems", "InventoryError", BAD_INPUT),
    Reported("mastofleet.model.problems", "FleetError", PROBLEMS),
    Reported("mastofleet.project.secrets", "SecretError", BAD_INPUT),
    Reported("mastofleet.remote.releases", "RolloutError", PROBLEMS),
    Reported("mastofleet.remote.session", "RemoteError", PROBLEMS),  # which host, which command, what it printed
    Reported("mastofleet.remote.fleet_lock", "FleetLocked", PROBLEMS),
    Reported("mastofleet.database.cutover", "CutoverError", PROBLEMS, "mastofleet cutover"),
    Reported("mastofleet.provision.errors", "ProvisionError", OWN_CODE),
    Reported("mastofleet.local.errors", "LocalFleetError", PROBLEMS, "mastofleet local {local_command}"),
    Reported("mastofleet.vagrant.errors", "VagrantFleetError", PROBLEMS, "mastofleet vagrant {vagrant_command}"),
)


def report(error: BaseException, arguments: argparse.Namespace) -> int | None:
    """Print the message for an error the operator is told about and return its exit code; None for any other."""
    for reported in REPORTED:
        if reported.matches(error):
            print(f"{reported.prefix.format(**vars(arguments))}: {error}", file=sys.stderr)
            return int(getattr(error, "exit_code", PROBLEMS)) if reported.exit_code == OWN_CODE else reported.exit_code
    return None


def run(arguments: argparse.Namespace) -> int:
    """Run the parsed command's handler; an error the operator is told about becomes its exit code."""
    handler: Handler = arguments.handler
    try:
        return handler(arguments)
    except Exception as error:
        code = report(error, arguments)
        if code is None:
            raise
        return code
