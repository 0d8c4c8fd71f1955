"""The firewall's rules, gathered from what each role declares.

Every role module that listens on a port has `firewall_rules(fleet, host) -> list[Opening]` next to
its `files_for`: the port, the protocol, and who may reach it (`from_roles`, `from_operators`, or
`ANYWHERE`). `mastofleet.deploys.ROLE_FIREWALL` says which module applies to which host, like
`ROLE_FILES`. Nothing else is open: the rendered nftables table drops every other packet, after
accepting the replies and running sessions first (so a new table never cuts an SSH session).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from mastofleet.model import Fleet, Host, Role

Network = IPv4Network | IPv6Network
TABLE = "mastofleet"
RULES_FILE = "/etc/mastofleet/firewall.nft"
UNIT = "mastofleet-firewall.service"


@dataclass(frozen=True)
class Source:
    """A network that may connect, and whose it is (a host or an operator), for comments and reports."""

    network: Network
    name: str


@dataclass(frozen=True)
class Opening:
    """A port a role listens on and who may reach it; `sources=None` means anyone (the public)."""

    service: str
    port: int
    sources: tuple[Source, ...] | None
    protocol: Literal["tcp", "udp"] = "tcp"

    @property
    def public(self) -> bool:
        return self.sources is None


ANYWHERE = None
FirewallRules = Callable[["Fleet", "Host"], list[Opening]]


def from_roles(fleet: Fleet, *roles: Role, but: Host | None = None) -> tuple[Source, ...]:
    """The private address of every host with one of `roles` (the private network is where they talk)."""
    return tuple(
        Source(ip_network(f"{host.private_address}/32"), host.name)
        for host in fleet.hosts
        if any(host.has(role) for role in roles) and (but is None or host.name != but.name)
    )


def from_operators(fleet: Fleet) -> tuple[Source, ...]:
    """Where operators connect from (their source_cidrs) and access.ssh_sources."""
    sources = [Source(network, operator.name) for operator in fleet.operators for network in operator.source_cidrs]
    sources += [Source(network, "ssh_sources") for network in fleet.access.ssh_sources]
    return tuple(dict.fromkeys(sources))


def openings(fleet: Fleet, host: Host, kept: frozenset[str] | None = None) -> list[Opening]:
    """Everything the roles of `host` declare open, in role order. `kept`: the retired hosts still
    let in (their processes not stopped yet); None lets every retired host in."""
    from mastofleet.deploys import ROLE_FIREWALL
    from mastofleet.model import Role

    gathered: list[Opening] = []
    for applies, rules in ROLE_FIREWALL:
        if applies(fleet, host):
            gathered.extend(rules(fleet, host))
    if kept is None:
        return gathered
    gone = {retired.name for retired in fleet.hosts if retired.has(Role.retired)} - kept
    return [
        Opening(
            opening.service,
            opening.port,
            None if opening.sources is None else tuple(source for source in opening.sources if source.name not in gone),
            opening.protocol,
        )
        for opening in gathered
    ]


@dataclass(frozen=True)
class Rule:
    """One nftables accept rule: its match and a comment naming the service and who."""

    match: str
    comment: str


def _addresses(networks: Iterable[Network]) -> str:
    items = sorted({str(network) for network in networks})
    return items[0] if len(items) == 1 else "{ " + ", ".join(items) + " }"


def rules(fleet: Fleet, host: Host, kept: frozenset[str] | None = None) -> list[Rule]:
    """The accept rules of `host`: one per opening and address family."""
    rendered = []
    for opening in openings(fleet, host, kept):
        port = f"{opening.protocol} dport {opening.port}"
        if opening.sources is None:
            rendered.append(Rule(port, f"{opening.service} from anywhere"))
            continue
        who = " ".join(dict.fromkeys(source.name for source in opening.sources))
        comment = f"{opening.service} from {who}"[:120]  # nft keeps comments up to 128 bytes
        for family, version in (("ip", 4), ("ip6", 6)):
            networks = [source.network for source in opening.sources if source.network.version == version]
            if networks:
                rendered.append(Rule(f"{family} saddr {_addresses(networks)} {port}", comment))
        # An opening whose source list is empty (no app host yet, say) stays closed.
    return rendered
