"""How the local fleet is logged in to: the `deploy` operator with this machine's local-fleet key,
or root before a deploy has made that account.

A fresh host is reached as root, the way a fresh Hetzner server is; the first deploy creates the
operator accounts, and every later one connects as `deploy` with sudo. Whether a host has the account
is read from its own files (its overlay on this machine), so no connection is needed to decide.
"""

from __future__ import annotations

import os
from typing import Any

from mastofleet.local.machines import GATEWAY, machine_files, ssh_key_path

OPERATOR = "deploy"
ROOT_LOGIN_VARIABLE = "MASTOFLEET_LOCAL_ROOT_LOGIN"


def local_operators() -> list[dict]:
    """The local fleet's one operator, once `mastofleet local up` has made the key."""
    public = ssh_key_path().with_name(ssh_key_path().name + ".pub")
    try:
        key = public.read_text().strip()
    except OSError:
        return []  # no key yet (nothing booted): the fleet is checked without an operator
    return [{"name": OPERATOR, "ssh_keys": [key], "source_cidrs": [f"{GATEWAY}/32"]}]


def root_login() -> bool:
    """Root keeps its key login on the local fleet unless a test turns it off for its run."""
    return os.environ.get(ROOT_LOGIN_VARIABLE, "on").lower() not in ("off", "no", "0", "false")


def has_account(machine: str, user: str) -> bool:
    """True when the host's own /etc/passwd (in its overlay or a snapshot layer) names `user`."""
    path = machine_files(machine).find("etc/passwd")
    try:
        passwd = path.read_text() if path else ""
    except OSError:
        return False
    return any(line.split(":", 1)[0] == user for line in passwd.splitlines())


def connection(machine: str, address: str) -> dict[str, Any]:
    """pyinfra connection data for a local host: as `deploy` with sudo once it exists, else root."""
    user = OPERATOR if has_account(machine, OPERATOR) else "root"
    data: dict[str, Any] = {
        "ssh_hostname": address,
        "ssh_user": user,
        "ssh_key": str(ssh_key_path()),
        "ssh_strict_host_key_checking": "no",
        "ssh_known_hosts_file": "/dev/null",
    }
    if user != "root":
        data["_sudo"] = True
    return data
