"""Where `mastofleet provision` creates the fleet on Hetzner Cloud."""

from __future__ import annotations

from ipaddress import IPv4Network

from pydantic import Field

from mastofleet.model.base import Strict


class Hetzner(Strict):
    """Where `mastofleet provision` creates the fleet on Hetzner Cloud (names derive from the fleet name)."""

    location: str = Field("fsn1", description="Location of every host without its own; checked against the API.")
    network_zone: str = Field("eu-central", description="Network zone of the subnet; it must hold every location.")
    subnet: IPv4Network = Field(description="The hosts' subnet, inside private_network; every private address in it.")
    image: str = Field("debian-13", description="System image the servers are created from.")
