"""How long the local fleet takes to come up, go down and reboot a host.

    sudo .venv/bin/python bench/local_boot.py [--rounds 3] [--from-nothing] [--yes] [--hosts NAME ...]

Prints, for the six default hosts (or the --hosts given, e.g. `alice frieda`, which no
deploy uses, to measure beside a fleet someone is working on):
  cold up   the base image exists, the hosts are fresh (just after `down`)
  warm up   every host is already up (`up` has nothing to do)
  down      clean poweroff and removal of the six hosts
  reboot    `systemctl reboot` inside one host until it is `running` again
and, with --from-nothing, the very first `up` after `down --purge` (key, base image
build, network, boot). It runs the real command (`python -m mastofleet.local`), and
leaves the hosts up. It throws away their state: if any of them runs, it asks for --yes.
"""

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from mastofleet.local import machine
from mastofleet.local.machines import DEFAULT_MACHINES, MACHINES, ssh_config_path


def local(*arguments: str) -> float:
    """Run `mastofleet local ARGUMENTS`; its wall time in seconds. Fails loudly."""
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "mastofleet.local", *arguments],
        check=True,
        stdout=subprocess.DEVNULL,
        cwd=Path(__file__).resolve().parents[1],
    )
    return time.monotonic() - started


def ssh(host: str, command: str) -> str | None:
    completed = subprocess.run(
        ["ssh", "-F", str(ssh_config_path()), "-o", "ConnectTimeout=1", host, command],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    return completed.stdout.strip() if completed.returncode == 0 else None


def reboot(host: str) -> float:
    """Seconds from `systemctl reboot` inside ``host`` until it is running again."""
    ssh(host, "touch /run/before-reboot")
    started = time.monotonic()
    subprocess.run(
        ["ssh", "-F", str(ssh_config_path()), host, "systemctl reboot"], capture_output=True, timeout=10, check=False
    )
    while ssh(host, "test -e /run/before-reboot && echo not-yet || systemctl is-system-running") != "running":
        if time.monotonic() - started > 120:
            raise SystemExit(f"{host} did not come back within 120 s of a reboot")
        time.sleep(0.1)
    return time.monotonic() - started


def summary(label: str, seconds: list[float]) -> str:
    runs = ", ".join(f"{value:.1f}" for value in seconds)
    return f"{label:<28} median {statistics.median(seconds):6.1f} s   (runs: {runs})"


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    options.add_argument("--rounds", type=int, default=3)
    options.add_argument("--from-nothing", action="store_true", help="also time the first up after down --purge")
    options.add_argument("--yes", action="store_true", help="recreate the hosts even though they are running")
    options.add_argument("--hosts", nargs="+", choices=list(MACHINES), default=list(DEFAULT_MACHINES))
    arguments = options.parse_args()
    hosts: list[str] = arguments.hosts
    running = [name for name in hosts if machine.is_running(name)]
    if running and not arguments.yes:
        print(f"{', '.join(running)} are running; this benchmark recreates them. Rerun with --yes.")
        return 2
    if (
        arguments.from_nothing
        and len(hosts) != len(MACHINES)
        and any(machine.is_running(name) for name in MACHINES if name not in hosts)
    ):
        print("--from-nothing deletes the base image, which needs every host down; leave it out.")
        return 2
    rebooted = hosts[-1]
    figures: dict[str, list[float]] = {"cold up": [], "warm up": [], "down": [], f"reboot ({rebooted})": []}
    if arguments.from_nothing:
        local("down", "--purge")
        figures["up from nothing"] = [local("up", *hosts)]
    local("up", *hosts)
    for _ in range(arguments.rounds):
        figures["down"].append(local("down", *hosts))
        figures["cold up"].append(local("up", *hosts))
        figures["warm up"].append(local("up", *hosts))
        figures[f"reboot ({rebooted})"].append(reboot(rebooted))
    print(f"local fleet, {len(hosts)} hosts ({' '.join(hosts)}):")
    for label, seconds in figures.items():
        print(summary(label, seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
