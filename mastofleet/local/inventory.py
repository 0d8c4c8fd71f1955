"""Inventory entries for the local fleet's machines, shared by every local inventory file."""

from __future__ import annotations

from typing import Any

from mastofleet.local.access import connection
from mastofleet.local.machines import MACHINES


def local_host(name: str, **data: Any) -> tuple[str, dict[str, Any]]:
    """A pyinfra host entry for the local machine `name`: SSH with the fleet's key as the `deploy`
    operator with sudo once a deploy has made that account, as root before (`local.access`); every
    fresh machine has new host keys, so they are not pinned; its address public and private."""
    address = str(MACHINES[name].address)
    return (
        name,
        {
            **connection(name, address),
            "private_address": address,
            "public_address": address,
            **data,
        },
    )
