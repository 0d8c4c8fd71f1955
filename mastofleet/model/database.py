"""PostgreSQL, PgBouncer, replication and the migration from an old primary."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field

from mastofleet.model.base import Strict
from mastofleet.model.ports import Port
from mastofleet.model.secrets_reference import SecretReference


class Postgres(Strict):
    """PostgreSQL on the db host."""

    version: int = Field(17, ge=14, description="Major version; Mastodon needs 14+.")
    memory_mb: int = Field(4096, ge=256, description="Memory of the db host, for tuning.")
    cpus: int = Field(2, ge=1, description="CPUs of the db host, for tuning.")
    max_connections: int = Field(200, ge=10)
    reserved_connections: int = Field(10, ge=0, description="Kept free for superusers, migrations and replication.")
    port: Port = Field(5432, description="PostgreSQL's port; migrations always use it, never PgBouncer's.")
    database: str = Field("mastodon_production", description="DB_NAME.")
    user: str = Field("mastodon", description="DB_USER, the role the app logs in as.")
    password: SecretReference = Field("secret:postgres_password", description="DB_PASS, by reference.")
    storage: Literal["ssd", "hdd"] = Field("ssd", description="Disk kind, for random_page_cost.")

    @property
    def usable_connections(self) -> int:
        return self.max_connections - self.reserved_connections


class Pgbouncer(Strict):
    """PgBouncer in transaction mode in front of Postgres on the db host."""

    enabled: bool = Field(True, description="Put PgBouncer between the app and PostgreSQL.")
    port: Port = Field(6432, description="PgBouncer's port (DB_PORT for the app).")
    max_client_connections: int = Field(1000, ge=1, description="max_client_conn.")
    default_pool_size: int = Field(60, ge=1, description="Server connections per database/user.")
    reserve_pool_size: int = Field(10, ge=0, description="Extra server connections for bursts.")


ROLE_NAME_PATTERN = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
ADDRESS_OR_NAME_PATTERN = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")


class Replication(Strict):
    """Streaming replication from the fleet's primary to its db_replica hosts: physical, over TLS,
    one replication slot per replica, hot standby."""

    user: str = Field("replicator", description="The role replicas log in as (REPLICATION, scram-sha-256).")
    password: SecretReference = Field("secret:replication_password", description="Its password, by reference.")


class DatabaseMigration(Strict):
    """An existing PostgreSQL primary outside the fleet: the db host is built as its streaming replica
    and the app keeps writing to it until `mastofleet cutover` promotes the db host."""

    enabled: bool = Field(
        True, description="Migration mode on; the cutover's record turns it off once the db host is promoted."
    )
    source: str = Field(description="Address of the old primary, reachable from the db host and the app hosts.")
    port: Port = Field(5432, description="The old primary's PostgreSQL port.")
    user: str = Field("replicator", description="Replication role on the old primary (REPLICATION, LOGIN).")
    password: SecretReference = Field(
        "secret:source_replication_password", description="That role's password, by reference."
    )
    ssh_host: str | None = Field(
        None, description="Where `cutover` and `db status` reach the old primary by SSH; default: source."
    )
    ssh_user: str = Field("root", description="SSH user on the old primary (runs psql as postgres).")
    ssh_port: Port = Field(22, description="SSH port of the old primary.")
    ssh_key_file: str | None = Field(None, description="Private key for that SSH login; default: the agent's keys.")
    replace_target_data: bool = Field(
        False,
        description="Let the first build replace a db host whose database already holds tables (a rehearsal); "
        "never needed on a fresh host.",
    )
    catch_up_timeout: int = Field(
        120, ge=5, description="Seconds the cutover waits for the db host to replay the old primary's last WAL."
    )
    max_lag_bytes: int = Field(
        16 * 1024 * 1024, ge=0, description="Cutover starts only when the lag is at most this, or shrinking."
    )
    disk_headroom: float = Field(
        1.0, ge=0, description="Cutover wants this many times the database's size free on the db host."
    )
    record_file: str = Field(
        "database-cutover.json", description="The cutover's record of its steps, to resume from (project-relative)."
    )

    @property
    def endpoint(self) -> str:
        return f"{self.source}:{self.port}"
