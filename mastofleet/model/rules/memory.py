"""Each host's processes must fit its memory: Puma, Sidekiq, streaming, PostgreSQL, Redis, search.

The per-process figures and where they come from are in `mastofleet.model.memory`; the message
shows the whole sum, so an operator can see which term to lower.
"""

from __future__ import annotations

from mastofleet.model.fleet import Fleet
from mastofleet.model.hosts import Host
from mastofleet.model.memory import (
    POSTGRES_CONNECTION_MB,
    PUMA_PROCESS_MB,
    PUMA_THREAD_MB,
    SIDEKIQ_PROCESS_MB,
    SIDEKIQ_THREAD_MB,
    STREAMING_PROCESS_MB,
    SYSTEM_MB,
    Share,
    host_memory_mb,
)
from mastofleet.model.problems import Problem
from mastofleet.model.roles import Role


def shares(fleet: Fleet, host: Host) -> list[Share]:
    """What each service of `host` may hold, in MB."""
    found = [Share("system", "(kernel, sshd, nginx, exporters)", SYSTEM_MB)]
    if host.web is not None and host.has(Role.app):
        web = host.web
        each = PUMA_PROCESS_MB + web.threads * PUMA_THREAD_MB
        found.append(
            Share(
                "Puma",
                f"{web.processes} x ({PUMA_PROCESS_MB} + {web.threads} threads x {PUMA_THREAD_MB})",
                web.processes * each,
            )
        )
    for process in host.sidekiq if host.has(Role.app) else []:
        mb = SIDEKIQ_PROCESS_MB + process.threads * SIDEKIQ_THREAD_MB
        found.append(
            Share(
                f"Sidekiq {process.name}",
                f"({SIDEKIQ_PROCESS_MB} + {process.threads} threads x {SIDEKIQ_THREAD_MB})",
                mb,
            )
        )
    if host.streaming is not None and host.has(Role.app):
        count = len(host.streaming.ports)
        found.append(Share("streaming", f"{count} x {STREAMING_PROCESS_MB}", count * STREAMING_PROCESS_MB))
    if host.has(Role.db) or host.has(Role.db_replica):
        postgres = fleet.postgres
        buffers = postgres.memory_mb // 4
        found.append(
            Share(
                "PostgreSQL",
                f"(shared_buffers {buffers} + {postgres.max_connections} connections x {POSTGRES_CONNECTION_MB})",
                buffers + postgres.max_connections * POSTGRES_CONNECTION_MB,
            )
        )
    redis_servers: list[tuple[Role, str, int | None]] = [
        (Role.redis, "Redis", fleet.redis.maxmemory_mb),
        (Role.redis_cache, "cache Redis", fleet.cache_redis.maxmemory_mb),
        (Role.redis_sidekiq, "Sidekiq Redis", fleet.sidekiq_redis.maxmemory_mb),
    ]
    for role, name, maxmemory in redis_servers:
        if host.has(role) and maxmemory is not None:
            found.append(Share(name, "(maxmemory)", maxmemory))
    if host.has(Role.search) and fleet.search is not None:
        found.append(Share("search", "(JVM heap)", fleet.search.heap_mb))
    return found


def memory_budget(fleet: Fleet) -> list[Problem]:
    problems = []
    for host in fleet.hosts:
        known = host_memory_mb(host.memory_mb, host.server_type)
        if known is None or host.allow_memory_overcommit or host.has(Role.retired):
            continue
        memory, source = known
        if (host.has(Role.db) or host.has(Role.db_replica)) and fleet.postgres.memory_mb > memory:
            problems.append(
                Problem(
                    host.name,
                    "postgres.memory_mb",
                    f"PostgreSQL is tuned for {fleet.postgres.memory_mb} MB, but {host.name} has {memory} MB ({source})",
                    f"set postgres.memory_mb to at most {memory}, or give {host.name} more memory",
                )
            )
            continue  # the budget below would repeat the same excess
        used = shares(fleet, host)
        total = sum(share.mb for share in used)
        if total > memory:
            biggest = max(used, key=lambda share: share.mb)
            problems.append(
                Problem(
                    host.name,
                    "memory",
                    f"its services may use {' + '.join(map(str, used))}: {total} MB, more than its {memory} MB ({source})",
                    f"lower the largest term ({biggest.what}: fewer processes or threads), give {host.name} more "
                    "memory, or set allow_memory_overcommit = True in its inventory data if you measured less",
                )
            )
    return problems
