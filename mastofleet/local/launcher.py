"""The loop that keeps one host's systemd-nspawn going, run detached by `up`.

    python -m mastofleet.local.launcher NAME

nspawn exits with 133 when the container reboots; the loop starts it again, so a
reboot inside a host behaves like a reboot of a real machine. Any other exit (a
poweroff, a failure) ends the loop, and so does the host's stop flag, which `down`
writes before it signals. SIGTERM to this process is passed on to nspawn, which turns
it into an orderly shutdown of the container's systemd.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType

from mastofleet.local import cgroups
from mastofleet.local.filesystem import remove_tree
from mastofleet.local.machines import BRIDGE, MACHINES, base_directory, machine_files

REBOOT_EXIT_CODE = 133

# nspawn leaves a directory here when a container reboots (it says "Attempted to remove
# disk file system" as it exits); it only ever holds files for a running container.
PROPAGATE_DIRECTORY = Path("/run/systemd/nspawn/propagate")


def remove_nspawn_leftovers(name: str) -> None:
    remove_tree(PROPAGATE_DIRECTORY / name)


def nspawn_command(name: str) -> list[str]:
    """nspawn booting the shared base under the host's own persistent overlay.

    Snapshot layers (`mastofleet local snapshot`) sit between the base and the upper dir, so
    restoring a snapshot is only emptying the upper dir: nothing is copied either way.
    """
    files = machine_files(name)
    lower = ":".join(str(path) for path in [base_directory(), *files.snapshot_layers()])
    return [
        "systemd-nspawn",
        "--boot",
        f"--directory={base_directory()}",
        f"--overlay={lower}:{files.upper}:/",
        f"--machine={name}",
        # No machined on this machine, so nothing to register with; stay in our cgroup.
        "--register=no",
        "--keep-unit",
        f"--network-bridge={BRIDGE}",
        # Leave /etc/resolv.conf (empty, written into the overlay: no DNS) and the
        # base image's time zone alone rather than copying this machine's.
        "--resolv-conf=off",
        "--timezone=off",
        "--link-journal=no",
        "--console=passive",
    ]


def main(argv: list[str]) -> int:
    (name,) = argv
    if name not in MACHINES:
        print(f"unknown machine {name}", file=sys.stderr)
        return 2
    files = machine_files(name)
    child: subprocess.Popen[bytes] | None = None
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        if child is not None and child.returncode is None:
            child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # Every start and end of the loop goes into the log, so a host that stops without a word from
    # nspawn still says why.
    print(f"mastofleet launcher: pid {os.getpid()} starting {name}", flush=True)
    if files.stop_flag.exists():
        print(f"mastofleet launcher: {files.stop_flag} is there; not starting {name}", flush=True)
    while not (stopping or files.stop_flag.exists()):
        cgroups.create(name)
        remove_nspawn_leftovers(name)
        # Into the host's own cgroups between fork and exec (pitfall 1 of the notes).
        # preexec_fn is safe here: the launcher has a single thread.
        child = subprocess.Popen(
            nspawn_command(name),
            preexec_fn=lambda: cgroups.join(name),
        )
        files.nspawn_pid.write_text(f"{child.pid}\n")
        if stopping or files.stop_flag.exists():
            # The stop came while nspawn was being started: pass it on now.
            child.send_signal(signal.SIGTERM)
        code = child.wait()
        print(f"mastofleet launcher: nspawn for {name} exited with {code}", flush=True)
        if code != REBOOT_EXIT_CODE:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
