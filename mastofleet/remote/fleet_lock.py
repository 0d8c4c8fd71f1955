"""One change to the fleet at a time: a lock held on the fleet itself, so it works from any operator's
machine.

Every deploy (`mastofleet deploy`, `upgrade`, `rollback`, a plain `pyinfra INVENTORY deploy.py`:
the project's config.py takes it once the fleet is validated, before pyinfra connects) and every
other mutating command (secrets rotate, cutover, backup restore, media finish, for their whole run)
takes it before it changes anything, and gives it back when it ends. It is a directory on the fleet's db host,
made with `mkdir` (which only one can win) holding who took it, from where, with which command and
since when. A second operator is refused with that, and nothing is changed. A command hands the lock
on to the deploys it runs (MASTOFLEET_LOCK_TOKEN). A lock whose run is gone is either taken over
(same machine, that process no longer exists: said so) or broken on purpose with `mastofleet lock
break INVENTORY`, which logs on the host who broke whose lock.

Fleets whose hosts are not reached over SSH (pyinfra's @local, @docker, @vagrant, @fake connectors:
the test and dry-run fleets) have no lock.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from mastofleet.model import Fleet, Role
from mastofleet.quoting import shell
from mastofleet.remote.session import connected

LOCK_DIRECTORY = "/var/lib/mastofleet/fleet-lock"
HOLDER_FILE = f"{LOCK_DIRECTORY}/holder.json"
TOKEN_VARIABLE = "MASTOFLEET_LOCK_TOKEN"
HELD = 3  # the exit status of the take when someone holds the lock


class FleetLocked(Exception):
    """Another run holds the fleet's lock; nothing was changed."""


@dataclass(frozen=True)
class Holder:
    token: str
    who: str  # user@machine
    command: str
    since: str  # UTC, ISO 8601
    machine: str
    pid: int

    def describe(self) -> str:
        return f"{self.who} ({self.command!r}, since {self.since}, process {self.pid})"


def this_run(command: str) -> Holder:
    machine = socket.gethostname()
    return Holder(
        token=uuid.uuid4().hex,
        who=f"{getpass.getuser()}@{machine}",
        command=command[:200],
        since=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        machine=machine,
        pid=os.getpid(),
    )


def lock_host(fleet: Fleet, inventory: Any) -> tuple[str, dict[str, Any]] | None:
    """The host that holds the lock (the fleet's db host) and its SSH settings; None when the fleet's
    hosts are not reached over SSH."""
    names = [host.name for host in fleet.with_role(Role.db)] or [host.name for host in fleet.hosts]
    for item in inventory:
        if item.name.startswith("@"):
            return None
        if item.name == names[0]:
            return item.name, item.data.dict()
    return None


@contextmanager
def _on_lock_host(fleet: Fleet, inventory: Any) -> Iterator[tuple[str, Any] | None]:
    """An SSH session to the lock host, with its name; None when the fleet has no lock."""
    place = lock_host(fleet, inventory)
    if place is None:
        yield None
        return
    name, data = place
    with connected(name, data) as remote:
        yield name, remote


def _read(remote: Any) -> Holder | None:
    text = remote.run(f"cat {HOLDER_FILE} 2>/dev/null || true").strip()
    if not text:
        return None
    try:
        return Holder(**json.loads(text))
    except (ValueError, TypeError):
        return Holder("", "unknown (unreadable holder file)", "", "", "", 0)


def _gone(holder: Holder) -> bool:
    """The holder ran on this machine and its process no longer exists."""
    if holder.machine != socket.gethostname() or holder.pid <= 0:
        return False
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def take(fleet: Fleet, inventory: Any, command: str) -> Holder | None:
    """Take the fleet's lock for this run (None: no lock for this fleet, or the parent command holds
    it); FleetLocked, naming the holder, when another run has it."""
    inherited = os.environ.get(TOKEN_VARIABLE)
    with _on_lock_host(fleet, inventory) as session:
        if session is None:
            return None
        name, remote = session
        if inherited:
            holder = _read(remote)
            if holder is not None and holder.token == inherited:
                return None
        mine = this_run(command)
        script = (
            f"mkdir -p {shell(os.path.dirname(LOCK_DIRECTORY))} && if mkdir {shell(LOCK_DIRECTORY)} 2>/dev/null;"
            f" then printf %s {shell(json.dumps(asdict(mine)))} > {shell(HOLDER_FILE)}; else exit {HELD}; fi"
        )
        for _attempt in range(2):
            try:
                remote.run(script, timeout=20)
                return mine
            except Exception as error:
                holder = _read(remote)
                if holder is None or f"failed ({HELD})" not in str(error):
                    raise
                if not _gone(holder):
                    raise FleetLocked(
                        f"the fleet {fleet.name} is locked by {holder.describe()} on {name}. Nothing was"
                        " changed. Wait until that run ends; if it is gone (its machine died, it was"
                        f" killed), `mastofleet lock break {_inventory_argument()}` removes the lock."
                    ) from None
                print(
                    f"mastofleet: taking over the fleet lock of {holder.describe()}: that process is gone",
                    file=sys.stderr,
                )
                remote.run(f"rm -rf {shell(LOCK_DIRECTORY)}")
    raise FleetLocked(f"the fleet {fleet.name}: the lock on {name} could not be taken")


def give_back(fleet: Fleet, inventory: Any, holder: Holder) -> None:
    """Remove the lock if it is still this run's (a break may have handed it to someone else)."""
    with _on_lock_host(fleet, inventory) as session:
        if session is None:
            return
        _, remote = session
        remote.run(
            f"grep -q {shell(holder.token)} {shell(HOLDER_FILE)} 2>/dev/null && rm -rf {shell(LOCK_DIRECTORY)}; true"
        )


def break_lock(fleet: Fleet, inventory: Any, reason: str) -> Holder | None:
    """Remove whoever's lock, logged on the host (journal, tag mastofleet) with who broke it and why."""
    me = this_run("lock break")
    with _on_lock_host(fleet, inventory) as session:
        if session is None:
            return None
        _, remote = session
        holder = _read(remote)
        if holder is None:
            return None
        note = f"fleet lock of {holder.describe()} broken by {me.who}: {reason}"
        remote.run(f"logger -t mastofleet {shell(note)} && rm -rf {shell(LOCK_DIRECTORY)}")
        return holder


def held_by(fleet: Fleet, inventory: Any) -> Holder | None:
    with _on_lock_host(fleet, inventory) as session:
        return None if session is None else _read(session[1])


def _inventory_argument() -> str:
    return next((argument for argument in sys.argv[1:] if argument.endswith(".py")), "INVENTORY")


@contextmanager
def fleet_lock(inventory_path: str, command: str) -> Iterator[None]:
    """Hold the fleet's lock for a command and the deploys it runs (they inherit it by token)."""
    from mastofleet.project.fleet import load_fleet

    fleet, inventory = load_fleet(inventory_path)
    holder = take(fleet, inventory, command)
    if holder is None:
        yield
        return
    os.environ[TOKEN_VARIABLE] = holder.token
    try:
        yield
    finally:
        os.environ.pop(TOKEN_VARIABLE, None)
        give_back(fleet, inventory, holder)


def lock_this_pyinfra_run() -> None:
    """Call from config.py: a plain `pyinfra INVENTORY deploy.py` takes the fleet's lock right after the
    fleet is validated, before connecting, and gives it back when pyinfra exits."""
    import atexit

    from pyinfra.api.exceptions import PyinfraError
    from pyinfra.context import ctx_inventory, ctx_state

    from mastofleet.runtime.deployment import current_fleet

    state = ctx_state.get()
    initialise = state.init

    def initialise_then_lock(*arguments: Any, **options: Any) -> None:
        initialise(*arguments, **options)
        fleet, _ = current_fleet()
        inventory = ctx_inventory.get()
        try:
            holder = take(fleet, inventory, "pyinfra " + " ".join(sys.argv[1:]))
        except FleetLocked as error:
            raise PyinfraError(f"mastofleet refuses to deploy: {error}") from None
        if holder is not None:
            atexit.register(give_back, fleet, inventory, holder)

    setattr(state, "init", initialise_then_lock)  # noqa: B010 (mypy refuses assigning a method)
