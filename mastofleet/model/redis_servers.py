"""The fleet's Redis servers: the main one, and optionally a cache and a Sidekiq Redis of their own.

Mastodon reads REDIS_* for everything, and CACHE_REDIS_* / SIDEKIQ_REDIS_* for the cache and the
job queues when they are set. The three differ only in parameters (role, port, persistence,
eviction, where the files go), so everything that renders, deploys, counts or checks a Redis
server asks this module for them instead of knowing the variants itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from mastofleet.model.fleet import Fleet
from mastofleet.model.hosts import Host
from mastofleet.model.redis import Redis
from mastofleet.model.roles import Role

# Redis's own default, which mastofleet leaves alone: the limit the connection estimate is held to.
MAXCLIENTS = 10000
# Sidekiq 7 keeps an internal pool of 10 connections per process (client and server), besides
# the server's pool of one per thread; the streaming server holds a command and a subscriber connection.
SIDEKIQ_INTERNAL_POOL = 10
STREAMING_CONNECTIONS = 2


@dataclass(frozen=True)
class Purpose:
    """One kind of Redis server: which role hosts it, how it is kept and where its files go."""

    name: str  # "main", "cache", "sidekiq"
    role: Role
    environment_prefix: str  # of its keys in .env.production
    persistent: bool  # RDB snapshots and the append-only file
    what: str  # what it holds, for the reports

    @property
    def instance(self) -> str:
        """Debian's unit for it: the package's own for the main one, `redis-server@NAME` for the others."""
        return "" if self.role is Role.redis else self.name

    @property
    def service(self) -> str:
        return f"redis-server@{self.instance}.service" if self.instance else "redis-server.service"

    @property
    def config_path(self) -> str:
        return f"/etc/redis/redis-{self.instance}.conf" if self.instance else "/etc/redis/redis.conf"

    @property
    def data_directory(self) -> str:
        return f"/var/lib/redis/{self.instance}" if self.instance else "/var/lib/redis"

    @property
    def pid_file(self) -> str:
        # Debian's template unit makes /run/redis-NAME its runtime directory.
        return f"/run/redis-{self.instance}/redis-server.pid" if self.instance else "/run/redis/redis-server.pid"

    @property
    def log_file(self) -> str:
        suffix = f"-{self.instance}" if self.instance else ""
        return f"/var/log/redis/redis-server{suffix}.log"


MAIN = Purpose("main", Role.redis, "", True, "feeds, streaming pub/sub")
CACHE = Purpose("cache", Role.redis_cache, "CACHE_", False, "Rails cache")
SIDEKIQ = Purpose("sidekiq", Role.redis_sidekiq, "SIDEKIQ_", True, "Sidekiq queues")
PURPOSES = (MAIN, CACHE, SIDEKIQ)
REDIS_ROLES = tuple(purpose.role for purpose in PURPOSES)


@dataclass(frozen=True)
class RedisServer:
    """A Redis server of the fleet: its purpose, its settings and the host that runs it."""

    purpose: Purpose
    settings: Redis
    host: Host

    @property
    def eviction_policy(self) -> str:
        # Sidekiq must never lose a job to eviction; only the cache may drop keys.
        return getattr(self.settings, "maxmemory_policy", "noeviction")

    @property
    def address(self) -> str:
        return str(self.host.private_address)


def settings_for(fleet: Fleet, purpose: Purpose) -> Redis:
    if purpose is CACHE:
        return fleet.cache_redis
    if purpose is SIDEKIQ:
        return fleet.sidekiq_redis
    return fleet.redis


def redis_servers(fleet: Fleet) -> list[RedisServer]:
    """Every Redis server of the fleet, the main one first; a purpose without a host is served by the main one."""
    servers = []
    for purpose in PURPOSES:
        hosts = fleet.with_role(purpose.role)
        if hosts:
            servers.append(RedisServer(purpose, settings_for(fleet, purpose), hosts[0]))
    return servers


def servers_on(fleet: Fleet, host: Host) -> list[RedisServer]:
    return [server for server in redis_servers(fleet) if server.host.name == host.name]


def serving(fleet: Fleet, purpose: Purpose) -> RedisServer | None:
    """The server that holds `purpose`'s data: its own, else the main one."""
    servers = {server.purpose.name: server for server in redis_servers(fleet)}
    return servers.get(purpose.name) or servers.get(MAIN.name)


def what_it_holds(fleet: Fleet, server: RedisServer) -> list[str]:
    return [purpose.what for purpose in PURPOSES if serving(fleet, purpose) == server]


# --- the connection estimate ---------------------------------------------------------------------


def _connections_for(host: Host, purpose: Purpose) -> int:
    """Connections one app host may open to the server holding `purpose` (Mastodon's pools: one per
    Puma thread, one per Sidekiq thread; Sidekiq's internal pool; streaming for the main one only)."""
    internal = SIDEKIQ_INTERNAL_POOL if purpose is SIDEKIQ else 0
    total = sum(process.threads + internal for process in host.sidekiq)
    if host.web:
        total += host.web.processes * (host.web.threads + internal)
    if purpose is MAIN and host.streaming:
        total += len(host.streaming.ports) * STREAMING_CONNECTIONS
    return total


def connection_estimate(fleet: Fleet, server: RedisServer) -> tuple[int, str]:
    """(connections the app hosts may open to `server` at most, the arithmetic by purpose)."""
    parts = []
    total = 0
    for purpose in PURPOSES:
        if serving(fleet, purpose) == server:
            count = sum(_connections_for(host, purpose) for host in fleet.app_hosts)
            total += count
            parts.append(f"{purpose.name} {count}")
    return total, f"{' + '.join(parts) or '0'} = {total} of maxclients {MAXCLIENTS}"
