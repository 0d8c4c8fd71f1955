"""Small pieces several rules share."""

from __future__ import annotations

from collections.abc import Iterable

from mastofleet.model.fleet import Fleet
from mastofleet.model.problems import Problem
from mastofleet.model.roles import Role


def one_host_only(fleet: Fleet, role: Role, consequence: str, fix: str) -> list[Problem]:
    """The problem of a role only one host may have, when more have it."""
    hosts = fleet.with_role(role)
    if len(hosts) <= 1:
        return []
    names = ", ".join(host.name for host in hosts)
    return [Problem("fleet", "roles", f"{len(hosts)} hosts have the role {role.value} ({names}); {consequence}", fix)]


def repeated(names: Iterable[str]) -> list[str]:
    """The names given more than once, sorted."""
    listed = list(names)
    return sorted({name for name in listed if listed.count(name) > 1})
