"""What exists in the Hetzner project now: one read per kind of resource, nothing written.

Everything a plan compares against is read here, so a plan (and a no-change apply) costs a fixed,
small number of GET requests: the catalogue (server types, locations, the image), the SSH keys,
networks, firewalls and placement groups, the fleet's servers by label, and a lookup by name for
each host not found by label (a name taken by a server outside the fleet must be seen before a
create fails on it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hcloud import Client

from mastofleet.provision.catalogue import Catalogue
from mastofleet.provision.desired import HetznerSpec
from mastofleet.provision.hetzner_client import calling


@dataclass
class Observed:
    catalogue: Catalogue
    keys: list[Any]  # every SSH key of the project (keys are matched by fingerprint)
    networks: list[Any]  # the networks with the fleet network's name
    firewalls: list[Any]  # every firewall: the fleet's two by name, and stale ones by label
    placement_groups: list[Any]  # every placement group
    servers: dict[str, Any]  # the fleet's servers by label, and servers named like a host

    def named(self, items: list[Any], name: str) -> Any | None:
        return next((item for item in items if item.name == name), None)


def fleet_selector(fleet: str) -> str:
    return f"fleet={fleet}"


def observe(client: Client, spec: HetznerSpec) -> Observed:
    image = spec.servers[0].image if spec.servers else "debian-13"
    with calling("reading what the project offers (server types, locations, images)"):
        catalogue = Catalogue(
            server_types=client.server_types.get_all(),
            locations=client.locations.get_all(),
            images=client.images.get_all(name=image, type=["system"]),
        )
    with calling("reading the project's SSH keys, networks, firewalls and placement groups"):
        keys = client.ssh_keys.get_all()
        networks = client.networks.get_all(name=spec.network.name)
        firewalls = client.firewalls.get_all()
        placement_groups = client.placement_groups.get_all()
    with calling(f"reading the servers of fleet {spec.fleet}"):
        listed = client.servers.get_all(label_selector=fleet_selector(spec.fleet))
        servers: dict[str, Any] = {str(server.name): server for server in listed}
        for wanted in spec.servers:
            if wanted.name not in servers:
                found = client.servers.get_by_name(wanted.name)
                if found is not None:
                    servers[str(found.name)] = found
    return Observed(catalogue, keys, networks, firewalls, placement_groups, servers)
