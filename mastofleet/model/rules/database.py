"""Rules over replication and the migration from an old primary."""

from __future__ import annotations

from mastofleet.model.database import ADDRESS_OR_NAME_PATTERN, ROLE_NAME_PATTERN
from mastofleet.model.fleet import Fleet
from mastofleet.model.problems import Problem
from mastofleet.model.roles import Role
from mastofleet.model.rules.shared import one_host_only


def replication_roles(fleet: Fleet) -> list[Problem]:
    problems = one_host_only(
        fleet, Role.db_replica, "Mastodon reads from one replica (REPLICA_DB_HOST)", "keep one host in 'db_replica'"
    )
    replicas = fleet.replica_hosts
    for host in replicas:
        if host.has(Role.db):
            problems.append(
                Problem(host.name, "roles", "the host is both db and db_replica", "put the replica on another host")
            )
    names = [("replication", "user", fleet.replication.user)]
    if fleet.database_migration is not None:
        names.append(("database_migration", "user", fleet.database_migration.user))
    for where, field, name in names:
        if not ROLE_NAME_PATTERN.match(name):
            problems.append(
                Problem(
                    where, field, f"'{name}' is not a plain PostgreSQL role name", "use lowercase letters, digits, _"
                )
            )
    if replicas and fleet.replication.user == fleet.postgres.user:
        problems.append(
            Problem(
                "replication",
                "user",
                f"replicas would log in as the app's own role {fleet.postgres.user}",
                "give replication its own role, e.g. replicator",
            )
        )
    return problems


def database_migration_source(fleet: Fleet) -> list[Problem]:
    migration = fleet.database_migration
    if migration is None or not migration.enabled:
        return []
    problems: list[Problem] = []
    if fleet.replica_hosts:
        problems.append(
            Problem(
                "database_migration",
                "enabled",
                "a read replica cannot follow a db host that is itself still a replica of the old primary",
                "add the db_replica host once the cutover is done and database_migration is removed",
            )
        )
    fleet_addresses = {str(host.private_address): host.name for host in fleet.hosts}
    fleet_addresses.update({str(host.public_address): host.name for host in fleet.hosts if host.public_address})
    if migration.source in fleet_addresses:
        problems.append(
            Problem(
                "database_migration",
                "source",
                f"{migration.source} is {fleet_addresses[migration.source]}, a host of this fleet",
                "name the old primary outside the fleet that the db host should copy",
            )
        )
    for field, value in (("source", migration.source), ("ssh_host", migration.ssh_host)):
        if value is not None and not ADDRESS_OR_NAME_PATTERN.match(value):
            problems.append(
                Problem(
                    "database_migration",
                    field,
                    f"'{value}' is neither an address nor a host name",
                    "write the old primary's private address, e.g. 10.0.0.5",
                )
            )
    return problems
