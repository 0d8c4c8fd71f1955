"""The firewall's rules of a host, gathered from what each of its roles declares.

Every role component that listens lists its `openings` (see `mastofleet.views.openings`); the registry
says which roles a host has. Nothing else is open: the rendered nftables table drops every other
packet, after accepting the replies and running sessions first (so a new table never cuts an SSH
session).
"""

from __future__ import annotations

from mastofleet.deploys import registry
from mastofleet.deploys.firewall import RULES_FILE, TABLE, UNIT
from mastofleet.model import Fleet, Host
from mastofleet.views.openings import (
    ANYWHERE,
    FirewallRules,
    Network,
    Opening,
    Rule,
    Source,
    from_operators,
    from_roles,
    letting_in,
)
from mastofleet.views.openings import rules_of as _rules_of

__all__ = [
    "ANYWHERE",
    "RULES_FILE",
    "TABLE",
    "UNIT",
    "FirewallRules",
    "Network",
    "Opening",
    "Rule",
    "Source",
    "from_operators",
    "from_roles",
    "openings",
    "rules",
]


def openings(fleet: Fleet, host: Host, kept: frozenset[str] | None = None) -> list[Opening]:
    """Everything the roles of `host` declare open, in role order. `kept`: the retired hosts still
    let in (their processes not stopped yet); None lets every retired host in."""
    return letting_in(fleet, registry.openings(fleet, host), kept)


def rules(fleet: Fleet, host: Host, kept: frozenset[str] | None = None) -> list[Rule]:
    """The accept rules of `host`: one per opening and address family."""
    return _rules_of(openings(fleet, host, kept))
