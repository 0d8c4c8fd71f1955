"""`provision destroy`: delete the fleet's servers, firewalls, placement group, network and SSH keys.

Only what carries the label fleet=<fleet> is touched: resources are listed with that label selector
and each is checked again before its delete call. Volumes are never deleted (they hold data; a
deleted server leaves them detached), nor is the media bucket; both are listed as kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hcloud import Client

from mastofleet.provision.errors import ProvisionError
from mastofleet.provision.hetzner_client import calling
from mastofleet.provision.hetzner_observe import fleet_selector
from mastofleet.provision.hetzner_steps import Context, Step


@dataclass
class DestroyPlan:
    fleet: str
    steps: list[Step] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def _labelled(resource: Any, fleet: str) -> bool:
    return (resource.labels or {}).get("fleet") == fleet


def _deleting(kind: str, resource: Any, fleet: str, phase: int, call: Any, detail: str = "") -> Step:
    def run(context: Context) -> list[Any]:
        if not _labelled(resource, fleet):  # the selector said so; a delete is worth asking twice
            raise ProvisionError(f"{kind} {resource.name} is not labelled fleet={fleet}: not deleted")
        result = call(resource)
        return [result] if result is not None and hasattr(result, "wait_until_finished") else []

    return Step("delete", kind, resource.name, detail, phase, run)


def destroy_plan(client: Client, fleet: str) -> DestroyPlan:
    plan = DestroyPlan(fleet)
    selector = fleet_selector(fleet)
    with calling(f"reading the resources labelled {selector}"):
        servers = [server for server in client.servers.get_all(label_selector=selector) if _labelled(server, fleet)]
        firewalls = client.firewalls.get_all(label_selector=selector)
        groups = client.placement_groups.get_all(label_selector=selector)
        networks = client.networks.get_all(label_selector=selector)
        keys = client.ssh_keys.get_all(label_selector=selector)
        volumes = client.volumes.get_all()
    for server in servers:
        detail = f"{getattr(server.server_type, 'name', '?')} in {getattr(server.location, 'name', '?')}"
        plan.steps.append(_deleting("server", server, fleet, 0, client.servers.delete, detail))
    for firewall in firewalls:
        plan.steps.append(_deleting("firewall", firewall, fleet, 1, client.firewalls.delete))
    for group in groups:
        plan.steps.append(_deleting("placement group", group, fleet, 1, client.placement_groups.delete))
    for network in networks:
        plan.steps.append(_deleting("network", network, fleet, 2, client.networks.delete, str(network.ip_range)))
    for key in keys:
        operator = (key.labels or {}).get("operator", "")
        plan.steps.append(_deleting("ssh key", key, fleet, 2, client.ssh_keys.delete, f"{operator}'s key".strip()))
    server_ids = {server.id for server in servers}
    for volume in volumes:
        attached = volume.server is not None and volume.server.id in server_ids
        if attached or _labelled(volume, fleet):
            plan.kept.append(f"volume {volume.name} ({volume.size} GB): volumes are never deleted; it stays, detached")
    return plan


def destroy_context(client: Client) -> Context:
    return Context(client, {}, None, {}, None, {})
