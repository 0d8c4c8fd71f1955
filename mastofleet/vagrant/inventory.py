"""Inventory entries for the Vagrant machines, shared by `inventories/vagrant.py` (the whole fleet)
and `inventories/vagrant_dry_run.py` (the reduced fleet the dry run boots on this machine)."""

from __future__ import annotations

from typing import Any

# The machines of the Vagrantfile and their private addresses (tests/unit/test_vagrant.py checks
# that the Vagrantfile says the same).
ADDRESSES = {
    "nixie": "192.168.56.11",
    "freud": "192.168.56.12",
    "fritz": "192.168.56.13",
    "franz": "192.168.56.14",
    "esme": "192.168.56.15",
}


def vagrant_host(name: str, **data: Any) -> tuple[str, dict[str, Any]]:
    """A pyinfra host entry for the Vagrant machine `name` (the @vagrant connector reads its SSH
    settings from `vagrant ssh-config`): as `vagrant` with sudo, and without pinning host keys,
    because every `vagrant up` makes a new machine with new keys at the same address."""
    address = ADDRESSES[name]
    return (
        f"@vagrant/{name}",
        {
            "private_address": address,
            "public_address": address,
            "_sudo": True,
            "ssh_strict_host_key_checking": "no",
            "ssh_known_hosts_file": "/dev/null",
            **data,
        },
    )
