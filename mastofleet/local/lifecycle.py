"""`up` and `down`: everything the local fleet makes on this machine, and its removal."""

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from mastofleet.local import base, machine, network, ssh
from mastofleet.local.errors import LocalFleetError
from mastofleet.local.filesystem import remove_tree
from mastofleet.local.machines import (
    MACHINES,
    Machine,
    machine_files,
    machines_directory,
    ssh_config_path,
    state_directory,
)
from mastofleet.local.mirror import Mirror, discover_mirror
from mastofleet.local.prerequisites import install_missing_packages

Item = TypeVar("Item")
Result = TypeVar("Result")

_output_lock = threading.Lock()


def say(line: str) -> None:
    """Print one whole line, even while several hosts boot at once."""
    with _output_lock:
        print(line, flush=True)


@dataclass
class BootResult:
    name: str
    seconds: float
    was_running: bool = False
    state: str | None = None
    failed_units: list[str] = field(default_factory=list)
    error: str | None = None


def in_parallel(function: Callable[[Item], Result], items: Iterable[Item]) -> list[Result]:
    """``function`` over ``items``, one thread each: the work is waiting on containers."""
    items = list(items)
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        return list(pool.map(function, items))


def running_hosts() -> list[str]:
    return [name for name in MACHINES if machine.is_running(name)]


def up(names: list[str], fresh: bool) -> int:
    """Boot ``names`` (leaving running ones alone unless ``fresh``) and wait until ready."""
    install_missing_packages()
    public_key = ssh.ensure_key()
    ssh.write_config()
    mirror = discover_mirror()
    base.ensure_base(mirror, public_key, running_hosts())
    network.ensure_network(mirror.addresses())
    machines_directory().mkdir(parents=True, exist_ok=True)
    results = in_parallel(lambda name: boot(MACHINES[name], mirror, fresh), names)
    for result in results:
        say(describe(result))
    return 1 if any(result.error for result in results) else 0


def boot(host: Machine, mirror: Mirror, fresh: bool) -> BootResult:
    started = time.monotonic()
    was_running = machine.is_running(host.name)
    try:
        if fresh or not was_running:
            # Also clears what a crashed launcher may have left running in the host's cgroup.
            machine.stop(host.name)
        if fresh:
            machine.remove(host.name)
            was_running = False
        if not was_running:
            say(f"{host.name}: booting")
            machine.start(host, mirror.hosts)
        state = machine.wait_ready(host)
    except LocalFleetError as error:
        return BootResult(host.name, time.monotonic() - started, was_running, error=str(error))
    failed = machine.failed_units(host.name) if state == "degraded" else []
    return BootResult(host.name, time.monotonic() - started, was_running, state, failed)


def describe(result: BootResult) -> str:
    if result.error:
        return f"{result.name}: FAILED: {result.error}"
    how = "was already up" if result.was_running else f"booted in {result.seconds:.1f} s"
    line = f"{result.name}: {result.state}, {how}, {MACHINES[result.name].address}"
    if result.failed_units:
        line += f"\n  failed units: {', '.join(result.failed_units)} (inspect with `mastofleet local exec {result.name} systemctl status UNIT`)"
    return line


def down(names: list[str], purge: bool) -> int:
    """Power off ``names`` and remove their overlays; with every host gone, the network too."""
    if purge and names:
        raise LocalFleetError("--purge deletes the base image all hosts share; use it without host names.")
    targets = names or [name for name in MACHINES if machine_files(name).directory.exists() or machine.is_running(name)]
    for line in in_parallel(shut_down, targets):
        say(line)
    if not running_hosts():
        network.remove_network()
        ssh_config_path().unlink(missing_ok=True)
        if machines_directory().exists() and not any(machines_directory().iterdir()):
            machines_directory().rmdir()
    if purge:
        remove_tree(state_directory())
        print(f"removed {state_directory()} (base image and SSH key included)", flush=True)
    return 0


def shut_down(name: str) -> str:
    """Stop and remove one host; a line saying how that went."""
    started = time.monotonic()
    was_running = machine.is_running(name)
    clean = machine.stop(name)
    machine.remove(name)
    if not was_running:
        how = "removed (it was not running)"
    elif clean:
        how = "powered off and removed"
    else:
        how = f"killed: it did not power off within {machine.SHUTDOWN_TIMEOUT_SECONDS:.0f} s"
    return f"{name}: {how} ({time.monotonic() - started:.1f} s)"
