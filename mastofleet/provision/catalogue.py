"""Server types, locations and images checked against what the Hetzner API offers today.

They change (CX22-CX52 and CPX11-CPX51 were retired in 2025, types sell out in a location), so no
list is kept here: a name the API does not offer in that location is refused before anything is
created, with the types the location does offer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mastofleet.model import Fleet, Role
from mastofleet.model.problems import Problem
from mastofleet.provision.desired import HetznerSpec, ServerSpec


@dataclass(frozen=True)
class Catalogue:
    """The API's answers about what can be ordered (hcloud bound objects)."""

    server_types: list[Any]
    locations: list[Any]
    images: list[Any]

    def server_type(self, name: str) -> Any | None:
        return next((item for item in self.server_types if item.name == name), None)

    def location(self, name: str) -> Any | None:
        return next((item for item in self.locations if item.name == name), None)


def _offer(server_type: Any, location: str) -> Any | None:
    return next((entry for entry in server_type.locations or [] if entry.location.name == location), None)


def describe_type(server_type: Any) -> str:
    """ccx33 (8 dedicated vCPU, 32 GB)."""
    arm = ", Arm" if server_type.architecture == "arm" else ""
    return f"{server_type.name} ({server_type.cores} {server_type.cpu_type} vCPU, {server_type.memory:g} GB{arm})"


def orderable(catalogue: Catalogue, location: str) -> list[Any]:
    """The types that can be ordered in a location now: x86 before Arm, by family, smallest first."""
    found = [
        item
        for item in catalogue.server_types
        if (offer := _offer(item, location)) is not None and offer.available and offer.deprecation is None
    ]
    return sorted(
        found, key=lambda item: (item.architecture != "x86", item.name.rstrip("0123456789"), item.cores, item.memory)
    )


def _available_list(catalogue: Catalogue, location: str) -> str:
    names = [describe_type(item) for item in orderable(catalogue, location)]
    return f"use one available in {location}: " + (", ".join(names) if names else "none right now")


def _locations_list(catalogue: Catalogue) -> str:
    return ", ".join(f"{item.name} ({item.city}, {item.network_zone})" for item in catalogue.locations)


def _retired(offer: Any) -> str:
    deprecation = offer.deprecation if offer is not None else None
    if deprecation is None:
        return ""
    return (
        f" (deprecated since {deprecation.announced:%Y-%m-%d}, "
        f"not orderable after {deprecation.unavailable_after:%Y-%m-%d})"
    )


def _server_problems(server: ServerSpec, catalogue: Catalogue, zone: str) -> list[Problem]:
    location = catalogue.location(server.location)
    if location is None:
        return [
            Problem(
                server.name,
                "location",
                f"'{server.location}' is not a Hetzner location",
                f"use one of: {_locations_list(catalogue)}",
            )
        ]
    problems = []
    if location.network_zone != zone:
        problems.append(
            Problem(
                server.name,
                "location",
                f"{server.location} is in network zone {location.network_zone}, the subnet in {zone}",
                f"pick a location in {zone} or change hetzner.network_zone",
            )
        )
    server_type = catalogue.server_type(server.server_type)
    if server_type is None:
        problems.append(
            Problem(
                server.name,
                "server_type",
                f"'{server.server_type}' is not a Hetzner server type",
                _available_list(catalogue, server.location),
            )
        )
        return problems
    offer = _offer(server_type, server.location)
    if offer is None or not offer.available:
        problems.append(
            Problem(
                server.name,
                "server_type",
                f"{server.server_type} cannot be ordered in {server.location}{_retired(offer)}",
                _available_list(catalogue, server.location),
            )
        )
        return problems
    if not any(
        image.name == server.image and image.architecture == server_type.architecture for image in catalogue.images
    ):
        problems.append(
            Problem(
                server.name,
                "image",
                f"no {server_type.architecture} image '{server.image}'",
                "set hetzner.image to a system image, e.g. debian-13",
            )
        )
    problems += _size_problems(server, server_type)
    return problems


def _size_problems(server: ServerSpec, server_type: Any) -> list[Problem]:
    host = server.host
    problems = []
    memory_mb = int(server_type.memory * 1024)
    if host.memory_mb is not None and host.memory_mb > memory_mb:
        problems.append(
            Problem(
                server.name,
                "memory_mb",
                f"tuned for {host.memory_mb} MB, but {describe_type(server_type)} has {memory_mb} MB",
                "lower memory_mb or pick a bigger server type",
            )
        )
    if host.cpus is not None and host.cpus > server_type.cores:
        problems.append(
            Problem(
                server.name,
                "cpus",
                f"tuned for {host.cpus} CPUs, but {describe_type(server_type)} has {server_type.cores}",
                "lower cpus or pick a bigger server type",
            )
        )
    return problems


def _postgres_problems(fleet: Fleet, spec: HetznerSpec, catalogue: Catalogue) -> list[Problem]:
    db = next((server for server in spec.servers if server.host.has(Role.db)), None)
    server_type = catalogue.server_type(db.server_type) if db else None
    if db is None or server_type is None:
        return []
    memory_mb = int(server_type.memory * 1024)
    if fleet.postgres.memory_mb > memory_mb:
        return [
            Problem(
                "postgres",
                "memory_mb",
                f"PostgreSQL is tuned for {fleet.postgres.memory_mb} MB, but the db host {db.name} is "
                f"{describe_type(server_type)}: it would not start",
                f"lower postgres.memory_mb to at most {memory_mb} or give {db.name} a bigger server type",
            )
        ]
    return []


def catalogue_problems(fleet: Fleet, spec: HetznerSpec, catalogue: Catalogue) -> list[Problem]:
    """Everything in the spec the API cannot provide (empty: every server can be ordered)."""
    problems: list[Problem] = []
    for server in spec.servers:
        problems += _server_problems(server, catalogue, spec.network.zone)
    return problems + _postgres_problems(fleet, spec, catalogue)


def deprecation_notes(spec: HetznerSpec, catalogue: Catalogue) -> list[str]:
    """Types still orderable but announced for retirement: worth knowing before building on them."""
    notes = []
    for server in spec.servers:
        server_type = catalogue.server_type(server.server_type)
        offer = _offer(server_type, server.location) if server_type else None
        if offer is not None and offer.available and offer.deprecation is not None:
            notes.append(f"{server.name}: {server.server_type} in {server.location} is retiring{_retired(offer)}")
    return notes
