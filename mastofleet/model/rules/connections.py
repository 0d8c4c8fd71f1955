"""The database connection budget: what the app may open against what PostgreSQL (or PgBouncer) allows."""

from __future__ import annotations

from mastofleet.model.fleet import Fleet
from mastofleet.model.problems import Problem


def _allowed(fleet: Fleet) -> tuple[int, str]:
    """What the app's connections are held to, and how it is set: PgBouncer's client limit when the app
    goes through it, else the connections PostgreSQL keeps for others than superusers."""
    if fleet.pgbouncer.enabled:
        limit = fleet.pgbouncer.max_client_connections
        return limit, f"pgbouncer max_client_connections {limit}"
    postgres = fleet.postgres
    return postgres.usable_connections, (
        f"postgres max_connections {postgres.max_connections} - reserved {postgres.reserved_connections}"
    )


def connection_budget(fleet: Fleet) -> tuple[int, int, str]:
    """(connections the fleet may open, what it may open them against, the arithmetic)."""
    parts = []
    for host in fleet.hosts:
        if not host.connections:
            continue
        terms = []
        if host.web:
            terms.append(f"web {host.web.processes}x{host.web.threads}")
        terms += [f"sidekiq {p.name} {p.pool}" for p in host.sidekiq]
        if host.streaming:
            terms.append(f"streaming {len(host.streaming.ports)}x{host.streaming.db_pool}")
        parts.append(f"{host.name} {host.connections} ({' + '.join(terms)})")
    used = fleet.total_connections
    limit, against = _allowed(fleet)
    if not fleet.pgbouncer.enabled:
        against += f" = {limit}"
    arithmetic = f"{' + '.join(parts) or '0'} = {used} against {against}"
    return used, limit, arithmetic


def connection_budget_exceeded(fleet: Fleet) -> list[Problem]:
    problems: list[Problem] = []
    used, limit, arithmetic = connection_budget(fleet)
    if used > limit:
        problems.append(
            Problem(
                "fleet",
                "connections",
                f"the fleet may open more database connections than allowed: {arithmetic}",
                "lower web threads/processes, Sidekiq db_pool or streaming ports, or raise the limit",
            )
        )
    if fleet.pgbouncer.enabled:
        pool = fleet.pgbouncer.default_pool_size + fleet.pgbouncer.reserve_pool_size
        if pool > fleet.postgres.usable_connections:
            problems.append(
                Problem(
                    "fleet",
                    "pgbouncer.default_pool_size",
                    f"pgbouncer's pool {fleet.pgbouncer.default_pool_size} + reserve "
                    f"{fleet.pgbouncer.reserve_pool_size} = {pool} exceeds postgres max_connections "
                    f"{fleet.postgres.max_connections} - reserved {fleet.postgres.reserved_connections} "
                    f"= {fleet.postgres.usable_connections}",
                    "lower the pool or raise postgres.max_connections",
                )
            )
    return problems


def replica_connection_budget(fleet: Fleet) -> tuple[int, int, str] | None:
    """Like `connection_budget`, for the read replica: every app process may open its pool there too."""
    if not fleet.replica_hosts:
        return None
    replica = fleet.replica_hosts[0]
    used = fleet.total_connections
    limit, against = _allowed(fleet)
    return used, limit, f"{used} (the app's pools, opened again for reads) against {against} on {replica.name}"


def replica_connection_budget_exceeded(fleet: Fleet) -> list[Problem]:
    budget = replica_connection_budget(fleet)
    if budget is None or budget[0] <= budget[1]:
        return []
    return [
        Problem(
            "fleet",
            "connections",
            f"the app may open more connections to the read replica than it allows: {budget[2]}",
            "lower the app's pools or raise the limit",
        )
    ]
