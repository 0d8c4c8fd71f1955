"""The whole fleet: every section and every host."""

from __future__ import annotations

from ipaddress import IPv4Network

from pydantic import Field

from mastofleet.model.access import Access, Firewall
from mastofleet.model.backup import Backup
from mastofleet.model.base import Strict
from mastofleet.model.database import DatabaseMigration, Pgbouncer, Postgres, Replication
from mastofleet.model.doctor import Doctor
from mastofleet.model.edge import Edge, Tls
from mastofleet.model.hetzner import Hetzner
from mastofleet.model.hosts import Host
from mastofleet.model.instance import Instance
from mastofleet.model.mail import Smtp
from mastofleet.model.media import MediaMigration, ObjectStorage
from mastofleet.model.monitoring import Monitoring
from mastofleet.model.operators import Operator
from mastofleet.model.redis import CacheRedis, Redis, SidekiqRedis
from mastofleet.model.roles import Role
from mastofleet.model.search import Search
from mastofleet.model.secrets_reference import MASTODON_SECRETS, secret_name


class Fleet(Strict):
    """The whole fleet: instance-wide settings and every host."""

    name: str = Field(description="Fleet name; labels cloud resources and names run records.")
    instance: Instance
    hosts: list[Host]
    postgres: Postgres = Field(default_factory=Postgres)
    pgbouncer: Pgbouncer = Field(default_factory=Pgbouncer)
    redis: Redis = Field(default_factory=Redis)
    redis_cache: CacheRedis | None = Field(None, description="Settings of the cache Redis (group redis_cache).")
    redis_sidekiq: SidekiqRedis | None = Field(None, description="Settings of the Sidekiq Redis (group redis_sidekiq).")
    search: Search | None = Field(None, description="Full-text search settings (group search, or external_host).")
    object_storage: ObjectStorage | None = None
    smtp: Smtp | None = None
    tls: Tls = Field(default_factory=Tls)
    edge: Edge = Field(default_factory=Edge)
    media_migration: MediaMigration | None = None
    replication: Replication = Field(default_factory=Replication)
    database_migration: DatabaseMigration | None = None
    secrets: list[str] = Field(
        default_factory=lambda: sorted(MASTODON_SECRETS.values()),
        description="Names of the secrets the fleet's secret store must hold.",
    )
    private_network: IPv4Network = Field(IPv4Network("10.0.0.0/16"), description="The private network the hosts share.")
    operators: list[Operator] = Field(
        default_factory=list, description="The people who run the fleet (SSH keys, source networks)."
    )
    hetzner: Hetzner | None = Field(None, description="Hetzner Cloud settings for `mastofleet provision`.")
    monitoring: Monitoring = Field(default_factory=Monitoring)
    doctor: Doctor = Field(default_factory=Doctor)
    access: Access = Field(default_factory=Access)
    firewall: Firewall = Field(default_factory=Firewall)
    backup: Backup | None = None
    plain_groups: list[str] = Field(
        default_factory=list,
        description="Inventory groups that only group hosts (for group_data or the operator): no role. "
        "Any other group that is no role is refused as a typo.",
    )

    def with_role(self, role: Role) -> list[Host]:
        return [host for host in self.hosts if host.has(role)]

    def host(self, name: str) -> Host:
        for host in self.hosts:
            if host.name == name:
                return host
        raise KeyError(name)

    @property
    def db_host(self) -> Host:
        return self.with_role(Role.db)[0]

    @property
    def redis_host(self) -> Host:
        return self.with_role(Role.redis)[0]

    @property
    def cache_redis(self) -> CacheRedis:
        return self.redis_cache or CacheRedis()

    @property
    def sidekiq_redis(self) -> SidekiqRedis:
        return self.redis_sidekiq or SidekiqRedis()

    @property
    def app_hosts(self) -> list[Host]:
        return self.with_role(Role.app)

    @property
    def migrating_media(self) -> bool:
        """Migration mode is on: edge hosts fall back to the old server and write back what it serves."""
        return self.media_migration is not None and self.media_migration.enabled

    @property
    def monitor_host(self) -> Host | None:
        """The host running Prometheus; without one, no exporter is deployed anywhere."""
        hosts = self.with_role(Role.monitor)
        return hosts[0] if hosts else None

    @property
    def migrating_database(self) -> bool:
        """Migration mode on: the app writes to the old primary and the db host replicates from it."""
        return self.database_migration is not None and self.database_migration.enabled

    @property
    def replica_hosts(self) -> list[Host]:
        return self.with_role(Role.db_replica)

    def primary_endpoint(self) -> tuple[str, int]:
        """Where PostgreSQL takes writes now (migrations go there): the old primary while migrating."""
        if self.migrating_database and self.database_migration is not None:
            return self.database_migration.source, self.database_migration.port
        return str(self.db_host.private_address), self.postgres.port

    @property
    def total_connections(self) -> int:
        return sum(host.connections for host in self.hosts)

    def referenced_secrets(self) -> set[str]:
        """Every secret name the deploy will need to resolve."""
        names = set(MASTODON_SECRETS.values())
        names.add(secret_name(self.postgres.password))
        names.add(secret_name(self.redis.password))
        if self.with_role(Role.redis_cache):
            names.add(secret_name(self.cache_redis.password))
        if self.with_role(Role.redis_sidekiq):
            names.add(secret_name(self.sidekiq_redis.password))
        if self.object_storage and self.object_storage.enabled:
            names.add(secret_name(self.object_storage.access_key))
            names.add(secret_name(self.object_storage.secret_key))
        if self.smtp and self.smtp.password:
            names.add(secret_name(self.smtp.password))
        if self.monitor_host and self.monitoring.alertmanager.enabled:
            names |= {secret_name(r.webhook_url) for r in self.monitoring.alertmanager.receivers if r.webhook_url}
        if self.backup:
            names.add(secret_name(self.backup.access_key))
            names.add(secret_name(self.backup.secret_key))
        if self.replica_hosts:
            names.add(secret_name(self.replication.password))
        if self.migrating_database and self.database_migration is not None:
            names.add(secret_name(self.database_migration.password))
        return names
