"""The plan's pieces: a step (a call and its phase), the context steps act on, and the plan itself.

Phases run in order (keys and network before firewalls and servers, ...); see `hetzner_plan`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hcloud import Client

from mastofleet.model.problems import Problem
from mastofleet.provision.desired import HetznerSpec

KEYS, NETWORK, FIREWALLS, PLACEMENT, LABELS, CREATE, ATTACH, POWER, MEMBERSHIP, PRUNE = range(10)


@dataclass
class Context:
    """The bound resources steps act on; steps that create something add it here for later phases."""

    client: Client
    keys: dict[str, Any]  # by fingerprint
    network: Any  # None until found or created
    firewalls: dict[str, Any]
    placement_group: Any  # None until found or created
    servers: dict[str, Any]


@dataclass(frozen=True)
class Step:
    action: str  # create | change | delete
    kind: str
    name: str
    detail: str
    phase: int
    run: Callable[[Context], list[Any]]  # makes the call; returns the actions to wait for
    what: str = ""  # how the step reads in apply's report, when not "<action> <kind> <name>"
    shown: bool = True  # False: part of a create shown on its own row (attach and power on a new server)

    @property
    def title(self) -> str:
        return self.what or f"{self.action} {self.kind} {self.name}"


@dataclass
class HetznerPlan:
    spec: HetznerSpec
    context: Context
    steps: list[Step] = field(default_factory=list)
    conflicts: list[Problem] = field(default_factory=list)
    drift: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        shown = [step for step in self.steps if step.shown]
        return {action: sum(step.action == action for step in shown) for action in ("create", "change", "delete")}


def ours(resource: Any, fleet: str) -> bool:
    return (resource.labels or {}).get("fleet") == fleet


def foreign(kind: str, name: str, resource: Any, fleet: str) -> Problem:
    labels = ", ".join(f"{key}={value}" for key, value in sorted((resource.labels or {}).items())) or "none"
    return Problem(
        name,
        kind,
        f"a {kind} named {name} exists in this project but is not fleet {fleet}'s (labels: {labels})",
        f"rename or delete it, or, if it is this fleet's, label it fleet={fleet}",
    )
