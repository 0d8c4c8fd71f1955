"""Who streams from whom: the one description of a standby's upstream, shared by the deploy (a
db_replica host follows the fleet's primary; in migration mode the db host follows the old primary),
`mastofleet db status` and `mastofleet cutover`."""

from __future__ import annotations

from dataclasses import dataclass

from mastofleet.model import Fleet, Host, Role

SLOT_PREFIX = "mastofleet_"


@dataclass(frozen=True)
class Upstream:
    """The primary a standby streams from, and how the standby logs in there."""

    description: str  # for messages: "nixie (the fleet's primary)"
    address: str
    port: int
    user: str
    password: str  # a secret reference, never the value
    slot: str  # the physical replication slot the standby holds on the upstream

    @property
    def endpoint(self) -> str:
        return f"{self.address}:{self.port}"


def slot_name(host: Host) -> str:
    """The replication slot a standby holds on its upstream: named after the standby."""
    return SLOT_PREFIX + host.name.replace("-", "_")


def upstream_of(fleet: Fleet, host: Host) -> Upstream | None:
    """The primary `host` streams from, or None when it is a primary (or no database host)."""
    if host.has(Role.db_replica) and fleet.with_role(Role.db):
        primary = fleet.db_host
        return Upstream(
            f"{primary.name} (the fleet's primary)",
            str(primary.private_address),
            fleet.postgres.port,
            fleet.replication.user,
            fleet.replication.password,
            slot_name(host),
        )
    migration = fleet.database_migration
    if host.has(Role.db) and fleet.migrating_database and migration is not None:
        return Upstream(
            f"the old primary {migration.endpoint}",
            migration.source,
            migration.port,
            migration.user,
            migration.password,
            slot_name(host),
        )
    return None


def replica_slots(fleet: Fleet) -> list[str]:
    """The slots the fleet's primary keeps: one per db_replica host."""
    return [slot_name(host) for host in fleet.replica_hosts]
