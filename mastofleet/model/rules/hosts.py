"""Rules over the hosts: roles, names, addresses and what each host runs."""

from __future__ import annotations

import re
from ipaddress import IPv4Address

from mastofleet.model.fleet import Fleet
from mastofleet.model.problems import Problem
from mastofleet.model.roles import REQUIRED_ROLES, Role
from mastofleet.model.rules.shared import one_host_only, repeated

HOST_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,62}$")


def roles_present(fleet: Fleet) -> list[Problem]:
    return [
        Problem(
            "fleet",
            "roles",
            f"no host has the role {role.value}",
            f"add a host to the inventory group '{role.value}'",
        )
        for role in REQUIRED_ROLES
        if not fleet.with_role(role)
    ]


def single_primaries(fleet: Fleet) -> list[Problem]:
    problems = []
    for role in (Role.db, Role.redis, Role.redis_cache, Role.redis_sidekiq):
        fix = f"keep one host in '{role.value}' (read replicas go in 'db_replica')"
        problems += one_host_only(fleet, role, "the app would use only the first", fix)
    app_hosts = fleet.with_role(Role.app)
    for kind in ("web", "streaming"):
        if app_hosts and not any(getattr(host, kind) for host in app_hosts):
            problems.append(
                Problem(
                    "fleet",
                    kind,
                    f"no app host runs {kind}; nginx would have nothing to balance",
                    f"give an app host {kind}",
                )
            )
    return problems


def unique_names_and_addresses(fleet: Fleet) -> list[Problem]:
    problems: list[Problem] = []
    seen_names: set[str] = set()
    seen_addresses: dict[IPv4Address, str] = {}
    for host in fleet.hosts:
        if host.name in seen_names:
            problems.append(Problem(host.name, "name", "the host name is used twice", "give each host its own name"))
        seen_names.add(host.name)
        for field, address in (("private_address", host.private_address), ("public_address", host.public_address)):
            if address is None:
                continue
            if address in seen_addresses and seen_addresses[address] != host.name:
                problems.append(
                    Problem(
                        host.name,
                        field,
                        f"{address} is already the address of {seen_addresses[address]}",
                        "give each host its own address",
                    )
                )
            seen_addresses.setdefault(address, host.name)
        if not HOST_NAME_PATTERN.match(host.name):
            problems.append(
                Problem(host.name, "name", "not a valid host name", "use lowercase letters, digits and '-'")
            )
        if host.private_address not in fleet.private_network:
            problems.append(
                Problem(
                    host.name,
                    "private_address",
                    f"{host.private_address} is outside the private network {fleet.private_network}",
                    "pick an address inside private_network or widen it",
                )
            )
        elif host.private_address in (fleet.private_network.network_address, fleet.private_network.broadcast_address):
            kind = "network" if host.private_address == fleet.private_network.network_address else "broadcast"
            problems.append(
                Problem(
                    host.name,
                    "private_address",
                    f"{host.private_address} is the {kind} address of {fleet.private_network}, not a host's",
                    f"pick an address between {fleet.private_network.network_address + 1} and "
                    f"{fleet.private_network.broadcast_address - 1}",
                )
            )
    return problems


def app_hosts_have_processes(fleet: Fleet) -> list[Problem]:
    problems: list[Problem] = []
    for host in fleet.hosts:
        has_processes = host.web or host.streaming or host.sidekiq
        if host.has(Role.app) and not has_processes:
            problems.append(
                Problem(
                    host.name, "web/streaming/sidekiq", "an app host runs nothing", "give it web, streaming or sidekiq"
                )
            )
        if not host.has(Role.app) and has_processes:
            problems.append(
                Problem(
                    host.name,
                    "web/streaming/sidekiq",
                    "Mastodon processes are set on a host without the app role",
                    "add the host to the 'app' group or remove its processes",
                )
            )
        for duplicate in repeated(process.name for process in host.sidekiq):
            problems.append(
                Problem(host.name, f"sidekiq[{duplicate}]", "two Sidekiq processes share a name", "rename one")
            )
        if host.streaming and len(set(host.streaming.ports)) != len(host.streaming.ports):
            problems.append(Problem(host.name, "streaming.ports", "a port is listed twice", "list each port once"))
        if host.web and host.streaming and host.web.port in host.streaming.ports:
            problems.append(
                Problem(host.name, "streaming.ports", f"port {host.web.port} is also the web port", "pick another port")
            )
    return problems


def edge_not_lb(fleet: Fleet) -> list[Problem]:
    problems: list[Problem] = []
    for host in fleet.with_role(Role.edge):
        if host.has(Role.lb):
            problems.append(
                Problem(
                    host.name,
                    "roles",
                    "the host is both lb and edge; both would serve the site's name on port 443",
                    "put the edge role on another host",
                )
            )
    return problems


def retired_alone(fleet: Fleet) -> list[Problem]:
    return [
        Problem(
            host.name,
            "roles",
            f"a retired host cannot also be {', '.join(role.value for role in host.roles if role != Role.retired)}",
            "take it out of every other group (or out of 'retired' to keep it)",
        )
        for host in fleet.with_role(Role.retired)
        if set(host.roles) != {Role.retired}
    ]


def hetzner_network(fleet: Fleet) -> list[Problem]:
    hetzner = fleet.hetzner
    if hetzner is None:
        return []
    if not hetzner.subnet.subnet_of(fleet.private_network):
        return [
            Problem(
                "hetzner",
                "subnet",
                f"{hetzner.subnet} is not inside private_network {fleet.private_network}",
                "pick a subnet inside private_network",
            )
        ]
    gateway = next(fleet.private_network.hosts())  # Hetzner keeps the network's first address for its gateway
    problems = []
    for host in fleet.hosts:
        if host.private_address == gateway:
            problems.append(
                Problem(
                    host.name,
                    "private_address",
                    f"{gateway} is the gateway Hetzner reserves in {fleet.private_network}",
                    "pick another address",
                )
            )
        elif host.private_address not in hetzner.subnet:
            problems.append(
                Problem(
                    host.name,
                    "private_address",
                    f"{host.private_address} is outside the Hetzner subnet {hetzner.subnet}",
                    "pick an address inside hetzner.subnet or widen it",
                )
            )
    return problems
