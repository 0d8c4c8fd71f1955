"""What the fleet should look like on Hetzner Cloud, worked out from the fleet model alone (no API).

Names derive from the fleet's name: the network `<fleet>`, the firewalls `<fleet>-ssh` (every host,
SSH from the operators' networks only) and `<fleet>-web` (lb and edge hosts, HTTP and HTTPS from
anywhere), the spread placement group `<fleet>-app` and one SSH key per operator key. Everything
carries the labels `fleet=<fleet>` and `managed-by=mastofleet`; servers also `role=<roles>`.
Nothing else is open to the internet: the services talk over the private network, which Hetzner's
firewalls do not filter.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass

from mastofleet.model import Fleet, Host, Role
from mastofleet.model.problems import FleetError, Problem

MANAGED_BY = "mastofleet"
PUBLIC_ROLES = (Role.lb, Role.edge)  # the hosts the world reaches over HTTP(S)
SPREAD_LIMIT = 10  # servers per spread placement group (Hetzner's limit)
RULE_LIMIT = 50  # rules per firewall (Hetzner's limit)
ANYWHERE = ("0.0.0.0/0", "::/0")
LABEL_VALUE = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9._-]{0,61}[a-zA-Z0-9])?$")


def ssh_fingerprint(public_key: str) -> str:
    """The MD5 fingerprint Hetzner lists SSH keys by (aa:bb:...)."""
    digest = hashlib.md5(base64.b64decode(public_key.split()[1]), usedforsecurity=False).hexdigest()
    return ":".join(digest[index : index + 2] for index in range(0, len(digest), 2))


@dataclass(frozen=True)
class KeySpec:
    name: str
    operator: str
    public_key: str
    fingerprint: str
    labels: dict[str, str]

    @property
    def kind(self) -> str:
        return self.public_key.split()[0]


@dataclass(frozen=True)
class RuleSpec:
    """An inbound TCP rule."""

    description: str
    port: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class FirewallSpec:
    name: str
    rules: tuple[RuleSpec, ...]
    servers: tuple[str, ...]
    labels: dict[str, str]


@dataclass(frozen=True)
class NetworkSpec:
    name: str
    ip_range: str
    subnet: str
    zone: str
    labels: dict[str, str]


@dataclass(frozen=True)
class PlacementGroupSpec:
    name: str
    servers: tuple[str, ...]
    labels: dict[str, str]


@dataclass(frozen=True)
class ServerSpec:
    name: str
    server_type: str
    location: str
    image: str
    private_address: str
    labels: dict[str, str]
    firewalls: tuple[str, ...]
    placement_group: str | None
    host: Host


@dataclass(frozen=True)
class HetznerSpec:
    fleet: str
    labels: dict[str, str]
    keys: tuple[KeySpec, ...]
    network: NetworkSpec
    firewalls: tuple[FirewallSpec, ...]
    placement_group: PlacementGroupSpec | None
    servers: tuple[ServerSpec, ...]


def role_label(host: Host) -> str:
    """The roles as one label value (label values allow no commas): db-lb-redis."""
    return "-".join(sorted(role.value for role in host.roles))


def fleet_labels(fleet: Fleet) -> dict[str, str]:
    return {"fleet": fleet.name, "managed-by": MANAGED_BY}


def _keys(fleet: Fleet, labels: dict[str, str]) -> tuple[KeySpec, ...]:
    keys = []
    for operator in fleet.operators:
        for public_key in operator.ssh_keys:
            print_ = ssh_fingerprint(public_key)
            keys.append(
                KeySpec(
                    name=f"{fleet.name}-{operator.name}-{print_.replace(':', '')[:8]}",
                    operator=operator.name,
                    public_key=public_key,
                    fingerprint=print_,
                    labels={**labels, "operator": operator.name},
                )
            )
    return tuple(keys)


def _firewalls(fleet: Fleet, labels: dict[str, str]) -> tuple[FirewallSpec, ...]:
    ssh_rules = tuple(
        RuleSpec(
            description=f"ssh from {operator.name}",
            port="22",
            sources=tuple(str(network) for network in operator.source_cidrs),
        )
        for operator in fleet.operators
    )
    web_rules = (
        RuleSpec(description="http", port="80", sources=ANYWHERE),
        RuleSpec(description="https", port="443", sources=ANYWHERE),
    )
    public = tuple(host.name for host in fleet.hosts if any(host.has(role) for role in PUBLIC_ROLES))
    return (
        FirewallSpec(f"{fleet.name}-ssh", ssh_rules, tuple(host.name for host in fleet.hosts), labels),
        FirewallSpec(f"{fleet.name}-web", web_rules, public, labels),
    )


def _problems(fleet: Fleet) -> list[Problem]:
    problems: list[Problem] = []
    if fleet.hetzner is None:
        return [
            Problem(
                "fleet",
                "hetzner",
                "the fleet has no hetzner section, so there is nothing to say where to create it",
                "add `hetzner = {...}` to group_data/<inventory name>.py (see group_data/hetzner.py)",
            )
        ]
    if not LABEL_VALUE.match(fleet.name):
        problems.append(
            Problem(
                "fleet",
                "fleet_name",
                f"'{fleet.name}' cannot be a Hetzner label value",
                "use letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
            )
        )
    if not fleet.operators:
        problems.append(
            Problem(
                "fleet",
                "operators",
                "no operators: the firewall would open SSH to nobody and no key would reach the servers",
                "add your operators (name, ssh_keys, source_cidrs) to group_data/all.py",
            )
        )
    if len(fleet.operators) > RULE_LIMIT:
        problems.append(
            Problem(
                "fleet",
                "operators",
                f"{len(fleet.operators)} operators need more SSH rules than a firewall holds ({RULE_LIMIT})",
                "merge operators' networks",
            )
        )
    for host in fleet.hosts:
        if not host.server_type:
            problems.append(
                Problem(host.name, "server_type", "no Hetzner server type", "set server_type in the inventory")
            )
    app_hosts = fleet.app_hosts
    if len(app_hosts) > SPREAD_LIMIT:
        problems.append(
            Problem(
                "fleet",
                "app",
                f"{len(app_hosts)} app hosts, but a spread placement group holds at most {SPREAD_LIMIT}",
                f"keep at most {SPREAD_LIMIT} app hosts",
            )
        )
    return problems


def hetzner_spec(fleet: Fleet) -> HetznerSpec:
    """The Hetzner resources of a valid fleet; FleetError lists what provisioning additionally needs."""
    problems = _problems(fleet)
    if problems:
        raise FleetError(problems)
    assert fleet.hetzner is not None
    labels = fleet_labels(fleet)
    firewalls = _firewalls(fleet, labels)
    group = PlacementGroupSpec(f"{fleet.name}-app", tuple(host.name for host in fleet.app_hosts), labels)
    servers = tuple(
        ServerSpec(
            name=host.name,
            server_type=str(host.server_type),
            location=host.location or fleet.hetzner.location,
            image=fleet.hetzner.image,
            private_address=str(host.private_address),
            labels={**labels, "role": role_label(host)},
            firewalls=tuple(firewall.name for firewall in firewalls if host.name in firewall.servers),
            placement_group=group.name if host.has(Role.app) else None,
            host=host,
        )
        for host in fleet.hosts
    )
    return HetznerSpec(
        fleet=fleet.name,
        labels=labels,
        keys=_keys(fleet, labels),
        network=NetworkSpec(
            name=fleet.name,
            ip_range=str(fleet.private_network),
            subnet=str(fleet.hetzner.subnet),
            zone=fleet.hetzner.network_zone,
            labels=labels,
        ),
        firewalls=firewalls,
        placement_group=group if group.servers else None,
        servers=servers,
    )
