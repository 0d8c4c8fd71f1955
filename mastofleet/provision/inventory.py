"""The live Hetzner inventory: declared hosts, with the addresses the Hetzner API gives their servers.

The inventory file declares the fleet (hosts, groups, private addresses, server types): that is
what `provision apply` creates, so it cannot come from the API. What only the API knows (public
addresses, ids, status) is read by the fleet's label, `fleet=<fleet_name>`, when HCLOUD_TOKEN is
set, and the answer is cached in the state file; without a token the cache is used, so `check`,
`render` and `pyinfra --dry` work offline. A host the API does not know yet has no public address
(provision it first); a server with the label that the inventory does not declare is not deployed to.
"""

from __future__ import annotations

import getpass
import os
import runpy
from pathlib import Path
from typing import Any

from mastofleet.provision.errors import ProvisionError
from mastofleet.provision.hetzner_client import TOKEN_VARIABLE, calling, connect
from mastofleet.provision.hetzner_observe import fleet_selector
from mastofleet.provision.state import STATE_VARIABLE, read_state, server_record, state_path_for, write_state

OFFLINE_VARIABLE = "MASTOFLEET_HETZNER_OFFLINE"


def fleet_name_of(inventory_file: str | Path) -> str:
    """`fleet_name` from the project's group_data/all.py, as the fleet model reads it."""
    for directory in Path(inventory_file).resolve().parents:
        all_data = directory / "group_data" / "all.py"
        if all_data.is_file():
            return str(runpy.run_path(str(all_data)).get("fleet_name", "mastodon"))
    return "mastodon"


def live_servers(fleet: str) -> dict[str, dict[str, Any]]:
    """The fleet's servers as the API lists them by label (needs HCLOUD_TOKEN)."""
    client = connect()
    with calling(f"listing the servers labelled {fleet_selector(fleet)} for the inventory"):
        servers = client.servers.get_all(label_selector=fleet_selector(fleet))
    return {str(server.name): server_record(server) for server in servers}


class HetznerInventory:
    """Builds inventory host entries; one instance per inventory file."""

    def __init__(self, inventory_file: str | Path) -> None:
        self.fleet = fleet_name_of(inventory_file)
        self.state_path = state_path_for(inventory_file)
        self.servers = self._servers()

    def _servers(self) -> dict[str, dict[str, Any]]:
        if os.environ.get(TOKEN_VARIABLE) and not os.environ.get(OFFLINE_VARIABLE):
            servers = live_servers(self.fleet)
            write_state(self.state_path, self.fleet, servers)
            return servers
        if os.environ.get(STATE_VARIABLE) and not self.state_path.exists():
            # a state file named on purpose but absent is a mistake; a default one absent means "not provisioned yet"
            raise ProvisionError(
                f"{STATE_VARIABLE} names {self.state_path}, which does not exist: fix the path, unset it, or set "
                f"{TOKEN_VARIABLE} to read the servers from the Hetzner API"
            )
        return dict(read_state(self.state_path)["servers"])

    def host(self, name: str, private_address: str, **data: Any) -> tuple[str, dict[str, Any]]:
        """(name, data) for a group list: declared values plus what the API says about the server."""
        server = self.servers.get(name, {})
        public = server.get("public_address")
        # Operators log in with their own account and sudo; root only for the very first deploy of a
        # fresh server (MASTOFLEET_SSH_USER=root), which creates the operators' accounts.
        user = os.environ.get("MASTOFLEET_SSH_USER") or getpass.getuser()
        entry: dict[str, Any] = {
            "ssh_hostname": public or name,
            "ssh_user": user,
            "_sudo": user != "root",
            "private_address": private_address,
            **data,
        }
        if public:
            entry["public_address"] = public
        return name, entry
