"""A machine of the fleet: its roles, addresses and processes."""

from __future__ import annotations

from ipaddress import IPv4Address

from pydantic import Field

from mastofleet.model.base import Strict
from mastofleet.model.processes import SidekiqProcess, Streaming, Web
from mastofleet.model.roles import Role


class Host(Strict):
    """A machine of the fleet."""

    name: str = Field(description="Host name (the inventory name).")
    roles: list[Role] = Field(description="The inventory groups the host is in: db, redis, lb, app, edge, ...")
    private_address: IPv4Address = Field(description="Address on the private network.")
    public_address: IPv4Address | None = Field(None, description="Address on the internet.")
    web: Web | None = Field(None, description="Puma on this app host.")
    streaming: Streaming | None = Field(None, description="Streaming processes on this app host.")
    sidekiq: list[SidekiqProcess] = Field(default_factory=list, description="Sidekiq processes on this app host.")
    memory_mb: int | None = Field(None, description="Memory, for tuning services on this host.")
    cpus: int | None = Field(None, description="CPUs, for tuning services on this host.")
    server_type: str | None = Field(
        None, description="Hetzner server type, e.g. ccx33 (`mastofleet provision`; checked against the API)."
    )
    location: str | None = Field(None, description="Hetzner location of this host; unset: hetzner.location.")
    allow_memory_overcommit: bool = Field(
        False,
        description="Skip the memory budget of this host (processes x figures of mastofleet.model.memory "
        "against its memory): for an operator who measured the real use and knows it fits.",
    )

    def has(self, role: Role) -> bool:
        return role in self.roles

    @property
    def connections(self) -> int:
        """Database connections this host may open at most."""
        total = sum(process.pool for process in self.sidekiq)
        total += self.web.connections if self.web else 0
        total += self.streaming.connections if self.streaming else 0
        return total
