"""The plan: what apply would create, change or delete on Hetzner, from the spec and what exists.

Each step carries the call that makes it happen and a phase; apply runs a phase's calls, then waits
for their actions, then goes on (keys and network before firewalls and servers; servers are created
stopped, attached to the network at their model address, then powered on, so they boot with it).
Two more lists are not steps: conflicts (a name taken by something outside the fleet: apply refuses
to start) and drift (a difference apply does not touch because fixing it needs a decision or a
stopped server: a server type, a location, a private address, placement). A server that exists but
is off and unattached is the trace of an interrupted apply: the plan finishes it.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from hcloud import Client
from hcloud.images import Image
from hcloud.locations import Location
from hcloud.networks import NetworkSubnet
from hcloud.server_types import ServerType

from mastofleet.model.problems import Problem
from mastofleet.provision.catalogue import describe_type
from mastofleet.provision.desired import HetznerSpec, ServerSpec
from mastofleet.provision.hetzner_firewall_steps import firewall_steps
from mastofleet.provision.hetzner_observe import Observed
from mastofleet.provision.hetzner_steps import (
    ATTACH,
    CREATE,
    KEYS,
    LABELS,
    NETWORK,
    PLACEMENT,
    POWER,
    PRUNE,
    Context,
    HetznerPlan,
    Step,
    foreign,
    ours,
)

__all__ = ["Context", "HetznerPlan", "Step", "hetzner_plan"]



# --- SSH keys -----------------------------------------------------------------------------------


def _key_steps(plan: HetznerPlan, observed: Observed) -> None:
    spec = plan.spec
    existing = {key.fingerprint: key for key in observed.keys}
    for key in spec.keys:
        found = existing.get(key.fingerprint)
        if found is not None:
            plan.context.keys[key.fingerprint] = found
            if not ours(found, spec.fleet):
                plan.notes.append(
                    f"{key.operator}'s {key.kind} key is already in the project as '{found.name}': used as is"
                )
            continue
        taken = observed.named(observed.keys, key.name)
        if taken is not None:
            plan.conflicts.append(foreign("ssh key", key.name, taken, spec.fleet))
            continue

        def create(context: Context, key=key) -> list[Any]:
            context.keys[key.fingerprint] = context.client.ssh_keys.create(
                name=key.name, public_key=key.public_key, labels=key.labels
            )
            return []

        plan.steps.append(Step("create", "ssh key", key.name, f"{key.operator}'s {key.kind} key", KEYS, create))
    wanted = {key.fingerprint for key in spec.keys}
    for stale in observed.keys:
        if ours(stale, spec.fleet) and stale.fingerprint not in wanted:

            def delete(context: Context, stale=stale) -> list[Any]:
                context.client.ssh_keys.delete(stale)
                return []

            operator = (stale.labels or {}).get("operator", "an operator no longer listed")
            plan.steps.append(
                Step("delete", "ssh key", stale.name, f"{operator}'s key, no longer in operators", PRUNE, delete)
            )


# --- network ------------------------------------------------------------------------------------


def _subnet(spec: HetznerSpec) -> NetworkSubnet:
    return NetworkSubnet(ip_range=spec.network.subnet, network_zone=spec.network.zone, type=NetworkSubnet.TYPE_CLOUD)


def _network_steps(plan: HetznerPlan, observed: Observed) -> None:
    spec = plan.spec
    wanted = spec.network
    found = observed.named(observed.networks, wanted.name)
    if found is None:

        def create(context: Context) -> list[Any]:
            context.network = context.client.networks.create(
                name=wanted.name, ip_range=wanted.ip_range, subnets=[_subnet(spec)], labels=wanted.labels
            )
            return []

        detail = f"{wanted.ip_range}, subnet {wanted.subnet} in {wanted.zone}"
        plan.steps.append(Step("create", "network", wanted.name, detail, NETWORK, create))
        return
    if not ours(found, spec.fleet):
        plan.conflicts.append(foreign("network", wanted.name, found, spec.fleet))
        return
    plan.context.network = found
    if ipaddress.ip_network(found.ip_range) != ipaddress.ip_network(wanted.ip_range):
        plan.drift.append(
            Problem(
                wanted.name,
                "ip_range",
                f"the network spans {found.ip_range}, the fleet's private_network is {wanted.ip_range}",
                "set private_network back, or recreate the network in a maintenance window",
            )
        )
        return
    subnets = {ipaddress.ip_network(subnet.ip_range): subnet for subnet in found.subnets or []}
    subnet = subnets.get(ipaddress.ip_network(wanted.subnet))
    if subnet is None:

        def add(context: Context) -> list[Any]:
            return [context.client.networks.add_subnet(context.network, _subnet(spec))]

        detail = f"add subnet {wanted.subnet} in {wanted.zone}"
        plan.steps.append(Step("change", "network", wanted.name, detail, NETWORK, add))
    elif subnet.network_zone != wanted.zone:
        plan.drift.append(
            Problem(
                wanted.name,
                "network_zone",
                f"subnet {wanted.subnet} is in {subnet.network_zone}, hetzner.network_zone says {wanted.zone}",
                "set hetzner.network_zone to the subnet's zone",
            )
        )



# --- placement group ------------------------------------------------------------------------------


def _placement_steps(plan: HetznerPlan, observed: Observed) -> None:
    spec = plan.spec
    wanted = spec.placement_group
    if wanted is None:
        return
    found = observed.named(observed.placement_groups, wanted.name)
    if found is not None and not ours(found, spec.fleet):
        plan.conflicts.append(foreign("placement group", wanted.name, found, spec.fleet))
        return
    if found is not None:
        plan.context.placement_group = found
        return

    def create(context: Context) -> list[Any]:
        response = context.client.placement_groups.create(name=wanted.name, type="spread", labels=wanted.labels)
        context.placement_group = response.placement_group
        return [response.action] if response.action else []

    detail = f"spread over physical hosts: {', '.join(wanted.servers)}"
    plan.steps.append(Step("create", "placement group", wanted.name, detail, PLACEMENT, create))


# --- servers --------------------------------------------------------------------------------------


def _describe_server(server: ServerSpec, observed: Observed) -> str:
    server_type = observed.catalogue.server_type(server.server_type)
    kind = describe_type(server_type) if server_type else server.server_type
    extras = [f"firewalls {', '.join(server.firewalls)}"] if server.firewalls else []
    if server.placement_group:
        extras.append(f"in {server.placement_group}")
    return ", ".join(
        [f"{kind} in {server.location}", server.image, server.private_address, f"role={server.labels['role']}", *extras]
    )


def _create_steps(plan: HetznerPlan, server: ServerSpec, observed: Observed) -> None:
    spec = plan.spec

    def create(context: Context) -> list[Any]:
        response = context.client.servers.create(
            name=server.name,
            server_type=ServerType(name=server.server_type),
            image=Image(name=server.image),
            location=Location(name=server.location),
            ssh_keys=[context.keys[key.fingerprint] for key in spec.keys],
            firewalls=[context.firewalls[name] for name in server.firewalls],
            placement_group=context.placement_group if server.placement_group else None,
            labels=server.labels,
            start_after_create=False,  # boots only once attached to the private network
        )
        context.servers[server.name] = response.server
        return [response.action, *response.next_actions]

    plan.steps.append(Step("create", "server", server.name, _describe_server(server, observed), CREATE, create))
    _attach_step(plan, server, shown=False)
    _power_on_step(plan, server, shown=False)


def _attach_step(plan: HetznerPlan, server: ServerSpec, shown: bool) -> None:
    network = plan.spec.network.name

    def attach(context: Context) -> list[Any]:
        target = context.servers[server.name]
        return [context.client.servers.attach_to_network(target, context.network, ip=server.private_address)]

    what = f"attach server {server.name} to {network} at {server.private_address}"
    plan.steps.append(
        Step(
            "change",
            "server",
            server.name,
            f"attach to {network} at {server.private_address}",
            ATTACH,
            attach,
            what,
            shown,
        )
    )


def _power_on_step(plan: HetznerPlan, server: ServerSpec, shown: bool) -> None:
    def power_on(context: Context) -> list[Any]:
        return [context.client.servers.power_on(context.servers[server.name])]

    plan.steps.append(
        Step("change", "server", server.name, "power on", POWER, power_on, f"power on server {server.name}", shown)
    )


def _drift(server: ServerSpec, field_name: str, message: str, fix: str) -> Problem:
    return Problem(server.name, field_name, message, fix)


def _existing_server_steps(plan: HetznerPlan, server: ServerSpec, found: Any) -> None:
    spec = plan.spec
    plan.context.servers[server.name] = found
    current_type = getattr(found.server_type, "name", server.server_type)
    if current_type != server.server_type:
        plan.drift.append(
            _drift(
                server,
                "server_type",
                f"the server is {current_type}, the inventory says {server.server_type}",
                f"resize it in a maintenance window (hcloud server change-type {server.name} {server.server_type}) "
                "or set server_type back",
            )
        )
    current_location = getattr(found.location, "name", server.location)
    if current_location != server.location:
        plan.drift.append(
            _drift(
                server,
                "location",
                f"the server is in {current_location}, the inventory says {server.location}",
                "servers cannot move: set the location back, or replace the host",
            )
        )
    labels = {**(found.labels or {}), **server.labels}
    if labels != (found.labels or {}):

        def relabel(context: Context) -> list[Any]:
            context.servers[server.name] = context.client.servers.update(context.servers[server.name], labels=labels)
            return []

        old = found.labels or {}
        changed = ", ".join(f"{key}={value}" for key, value in server.labels.items() if old.get(key) != value)
        plan.steps.append(Step("change", "server", server.name, f"labels {changed}", LABELS, relabel))
    network = plan.context.network
    attachment = next(
        (entry for entry in found.private_net or [] if network is not None and entry.network.id == network.id), None
    )
    if attachment is None:
        _attach_step(plan, server, shown=True)
        if found.status == "off":  # created, never attached: an apply stopped half-way
            _power_on_step(plan, server, shown=True)
    elif attachment.ip != server.private_address:
        plan.drift.append(
            _drift(
                server,
                "private_address",
                f"the server has {attachment.ip} on {spec.network.name}, the inventory says {server.private_address}",
                "set private_address to the server's, or detach and re-attach it in a maintenance window",
            )
        )
    elif found.status == "off":
        plan.notes.append(
            f"server {server.name} is powered off; apply leaves it so (hcloud server poweron {server.name})"
        )
    elif found.status not in ("running", "off"):
        plan.notes.append(f"server {server.name} is {found.status}: an action is still running on it")
    _placement_drift(plan, server, found)


def _placement_drift(plan: HetznerPlan, server: ServerSpec, found: Any) -> None:
    group = found.placement_group.name if found.placement_group else None
    if group == server.placement_group:
        return
    wanted = f"in {server.placement_group}" if server.placement_group else "in no placement group"
    plan.drift.append(
        _drift(
            server,
            "placement_group",
            f"the server is {f'in {group}' if group else 'in no placement group'}, it should be {wanted}",
            "a server changes placement group only while stopped: shut it down, "
            + (
                f"hcloud server add-to-placement-group {server.name} {server.placement_group}"
                if server.placement_group
                else f"hcloud server remove-from-placement-group {server.name}"
            )
            + ", start it",
        )
    )


def _server_steps(plan: HetznerPlan, observed: Observed) -> set[str]:
    """Steps for every host; returns the names of the servers to create."""
    spec = plan.spec
    creating = set()
    for server in spec.servers:
        found = observed.servers.get(server.name)
        if found is None:
            creating.add(server.name)
            _create_steps(plan, server, observed)
        elif not ours(found, spec.fleet):
            plan.conflicts.append(foreign("server", server.name, found, spec.fleet))
        else:
            _existing_server_steps(plan, server, found)
    return creating


def _orphan_steps(plan: HetznerPlan, observed: Observed, prune: bool) -> None:
    wanted = {server.name for server in plan.spec.servers}
    for name, found in sorted(observed.servers.items()):
        if name in wanted or not ours(found, plan.spec.fleet):
            continue
        if not prune:
            plan.notes.append(
                f"server {name} is labelled fleet={plan.spec.fleet} but is not in the inventory: "
                "kept (apply --prune deletes it)"
            )
            continue

        def delete(context: Context, found=found) -> list[Any]:
            return [context.client.servers.delete(found)]

        plan.steps.append(Step("delete", "server", name, "not in the inventory (--prune)", PRUNE, delete))


def hetzner_plan(client: Client, spec: HetznerSpec, observed: Observed, prune: bool = False) -> HetznerPlan:
    """Compare the spec with what exists; the plan apply would carry out."""
    plan = HetznerPlan(spec, Context(client, {}, None, {}, None, {}))
    _key_steps(plan, observed)
    _network_steps(plan, observed)
    _placement_steps(plan, observed)
    creating = _server_steps(plan, observed)
    firewall_steps(plan, observed, creating)
    _orphan_steps(plan, observed, prune)
    plan.steps.sort(key=lambda step: step.phase)  # stable: within a phase, the order above
    return plan
