"""Inventory entries for the local fleet's machines, shared by every local inventory file."""

from __future__ import annotations

from typing import Any

from mastofleet.local.machines import MACHINES, ssh_key_path


def local_host(name: str, **data: Any) -> tuple[str, dict[str, Any]]:
    """A pyinfra host entry for the local machine `name`: SSH as root with the fleet's key (every
    fresh machine has new host keys, so they are not pinned), its address public and private."""
    address = str(MACHINES[name].address)
    return (
        name,
        {
            "ssh_hostname": address,
            "ssh_user": "root",
            "ssh_key": str(ssh_key_path()),
            "ssh_strict_host_key_checking": "no",
            "ssh_known_hosts_file": "/dev/null",
            "private_address": address,
            "public_address": address,
            **data,
        },
    )
