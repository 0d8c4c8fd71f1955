"""What this machine must offer before hosts can boot: root, and a few Debian packages."""

import os
import shutil

from mastofleet.local.errors import LocalFleetError
from mastofleet.local.process import run_checked

# The command the local fleet calls, and the Debian package that provides it.
REQUIRED_COMMANDS: dict[str, str] = {
    "debootstrap": "debootstrap",
    "systemd-nspawn": "systemd-container",
    "nft": "nftables",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
    "ip": "iproute2",
    "nsenter": "util-linux",
}


def root_problem() -> str | None:
    """Why this process cannot run the local fleet, or None when it can."""
    if os.geteuid() != 0:
        return (
            "mastofleet local needs root: it creates a bridge, firewall rules, cgroups and "
            "containers. Run it again with sudo (e.g. sudo .venv/bin/mastofleet local up)."
        )
    return None


def missing_packages() -> list[str]:
    """The Debian packages whose commands are not on PATH, each once."""
    missing = [package for command, package in REQUIRED_COMMANDS.items() if not shutil.which(command)]
    return list(dict.fromkeys(missing))


def install_missing_packages() -> None:
    """Install with apt-get whatever the fleet needs and this machine lacks, and say so."""
    packages = missing_packages()
    if not packages:
        return
    print(f"installing on this machine: {' '.join(packages)}", flush=True)
    environment_fix = "check that apt-get works on this machine (its sources, its network)."
    run_checked(["apt-get", "update", "-q"], fix=environment_fix, timeout=600)
    run_checked(
        # No debconf questions: nobody is there to answer them.
        [
            "env",
            "DEBIAN_FRONTEND=noninteractive",
            "apt-get",
            "install",
            "-y",
            "-q",
            "--no-install-recommends",
            *packages,
        ],
        fix=f"install them by hand (apt-get install {' '.join(packages)}) and retry.",
        timeout=900,
    )
    still_missing = missing_packages()
    if still_missing:
        raise LocalFleetError(
            f"after apt-get install, these are still missing: {' '.join(still_missing)}; "
            "install them by hand and retry."
        )
