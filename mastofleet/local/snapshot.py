"""`snapshot` and `restore`: keep the hosts as they are now, and come back to that in seconds.

A snapshot turns each host's upper dir into a read-only layer of its root (between the shared
base and a new, empty upper dir) and keeps a copy of the files of the state directory a deploy
changes. Restoring empties the upper dir again and boots the host: whatever happened since is
gone, and nothing was copied. (ext4, where the local fleet lives here, has no reflinks, and hard
links would not do: PostgreSQL and Redis write their files in place, so a linked copy would
change with the host.) A snapshot powers the hosts off cleanly, so its layers hold what a clean
shutdown leaves, as after a reboot; a restore cuts their power, since what it throws away needs no
clean shutdown.
"""

import shutil
import time

from mastofleet.local import machine, package_cache
from mastofleet.local.errors import LocalFleetError
from mastofleet.local.filesystem import remove_tree
from mastofleet.local.lifecycle import BootResult, describe, in_parallel, running_hosts, say, shut_down
from mastofleet.local.machines import (
    MACHINES,
    SNAPSHOT_FILES,
    machine_files,
    snapshot_directory,
    state_directory,
)


def snapshotted_hosts() -> list[str]:
    return [name for name in MACHINES if machine_files(name).snapshot_layers()]


def _boot_again(name: str, started: float) -> BootResult:
    """Start a powered-off host on its layers and wait until it runs.

    A host whose launcher is gone before it booted gets one more start after a power cut (seen
    once in CI, in a long run of restores: the launcher ended without a word from nspawn); the
    launcher's log keeps both attempts, and a second failure is reported as it is."""
    machine.start(MACHINES[name], ())
    try:
        state = machine.wait_ready(MACHINES[name])
    except machine.StoppedWhileBooting as error:
        say(f"{name}: {error}\n{name}: starting it once more")
        machine.power_cut(name)
        machine.start(MACHINES[name], ())
        state = machine.wait_ready(MACHINES[name])
    failed = machine.failed_units(name) if state == "degraded" else []
    return BootResult(name, time.monotonic() - started, False, state, failed)


def _push_layer(name: str) -> BootResult:
    """Power ``name`` off, make its upper dir its newest snapshot layer, and boot it again."""
    started = time.monotonic()
    files = machine_files(name)
    try:
        if not machine.is_running(name):
            raise LocalFleetError(f"{name} is not running; `mastofleet local up {name}` first.")
        if not machine.stop(name):
            say(f"{name}: did not power off within {machine.SHUTDOWN_TIMEOUT_SECONDS:.0f} s and was killed")
        layer = files.layers / str(len(files.snapshot_layers()))
        files.layers.mkdir(exist_ok=True)
        files.upper.rename(layer)
        files.upper.mkdir()
        package_cache.collect([layer])
        return _boot_again(name, started)
    except (LocalFleetError, OSError) as error:
        return BootResult(name, time.monotonic() - started, error=str(error))


def _drop_upper(name: str) -> BootResult:
    """Cut ``name``'s power, empty its upper dir, and boot it on its snapshot layers."""
    started = time.monotonic()
    files = machine_files(name)
    try:
        machine.power_cut(name)
        remove_tree(files.upper)
        files.upper.mkdir()
        return _boot_again(name, started)
    except (LocalFleetError, OSError) as error:
        return BootResult(name, time.monotonic() - started, error=str(error))


def _report(results: list[BootResult], verb: str) -> int:
    for result in results:
        if result.error:
            say(describe(result))
            continue
        say(f"{result.name}: {verb}, {result.state} again in {result.seconds:.1f} s")
        if result.failed_units:
            say(f"  failed units: {', '.join(result.failed_units)}")
    # A snapshot of a converged fleet boots cleanly: a failed unit means it was not what was wanted.
    return 1 if any(result.error or result.failed_units for result in results) else 0


def take(names: list[str]) -> int:
    """Snapshot ``names`` (default: every running host) and the state directory's changing files."""
    targets = names or running_hosts()
    if not targets:
        raise LocalFleetError("no host is running; `mastofleet local up` first.")
    snapshot_directory().mkdir(parents=True, exist_ok=True)
    for file_name in SNAPSHOT_FILES:
        if (state_directory() / file_name).exists():
            shutil.copy2(state_directory() / file_name, snapshot_directory() / file_name)
    return _report(in_parallel(_push_layer, targets), "snapshot taken")


def restore(names: list[str]) -> int:
    """Bring ``names`` back to their newest snapshot; with no names, the whole fleet: every host
    with a snapshot, the state directory's files too, and hosts booted since are removed."""
    kept = snapshotted_hosts()
    missing = [name for name in names if name not in kept]
    if missing:
        raise LocalFleetError(
            f"{', '.join(missing)} has no snapshot (hosts with one: {', '.join(kept) or 'none'}); "
            "take one with `mastofleet local snapshot`."
        )
    if not kept:
        raise LocalFleetError("no host has a snapshot; take one with `mastofleet local snapshot`.")
    if not names:
        for line in in_parallel(shut_down, [name for name in running_hosts() if name not in kept]):
            say(line)
        for file_name in SNAPSHOT_FILES:
            if (snapshot_directory() / file_name).exists():
                shutil.copy2(snapshot_directory() / file_name, state_directory() / file_name)
    return _report(in_parallel(_drop_upper, names or kept), "restored")
