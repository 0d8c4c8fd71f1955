"""Firewall openings: the port a role listens on and who may reach it, and the nftables rules they make.

Every role that listens declares its openings in its component (`openings`): the port, the protocol,
and who may reach it (`from_roles`, `from_operators`, or `ANYWHERE`). `mastofleet.plan.firewall` gathers
them for a host from the registry; the firewall role renders them with `rules_of`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Literal

from mastofleet.model import Fleet, Host, Role

Network = IPv4Network | IPv6Network


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
FirewallRules = Callable[[Fleet, Host], list[Opening]]


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


def letting_in(fleet: Fleet, openings: list[Opening], kept: frozenset[str] | None) -> list[Opening]:
    """The openings without the retired hosts that are not `kept` (their processes stopped);
    None lets every retired host in."""
    if kept is None:
        return openings
    gone = {retired.name for retired in fleet.hosts if retired.has(Role.retired)} - kept
    return [
        Opening(
            opening.service,
            opening.port,
            None if opening.sources is None else tuple(source for source in opening.sources if source.name not in gone),
            opening.protocol,
        )
        for opening in openings
    ]


@dataclass(frozen=True)
class Rule:
    """One nftables accept rule: its match and a comment naming the service and who."""

    match: str
    comment: str


def _addresses(networks: Iterable[Network]) -> str:
    items = sorted({str(network) for network in networks})
    return items[0] if len(items) == 1 else "{ " + ", ".join(items) + " }"


def rules_of(openings: list[Opening]) -> list[Rule]:
    """The accept rules for `openings`: one per opening and address family."""
    rendered = []
    for opening in openings:
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
