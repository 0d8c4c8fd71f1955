"""Human-readable tables of a fleet."""

from __future__ import annotations

from mastofleet.model import Fleet, Host, connection_budget, replica_connection_budget
from mastofleet.views.redis_servers import connection_estimate, redis_servers, what_it_holds
from mastofleet.views.search import search_endpoint, search_settings


def table(header: list[str], rows: list[list[str]]) -> str:
    """A plain text table, columns padded to their widest cell."""
    widths = [max(len(row[index]) for row in [header, *rows]) for index in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([line(header), line(["-" * width for width in widths]), *(line(row) for row in rows)])


def _processes(host: Host) -> list[str]:
    lines = []
    if host.web:
        lines.append(f"web {host.web.processes}x{host.web.threads}")
    if host.streaming:
        lines.append(f"streaming {','.join(str(port) for port in host.streaming.ports)}")
    for process in host.sidekiq:
        queues = ",".join(
            queue.name if queue.weight == 1 else f"{queue.name}:{queue.weight}" for queue in process.queues
        )
        lines.append(f"sidekiq {process.name} [{queues}] c{process.threads} pool{process.pool}")
    return lines or ["-"]


def fleet_table(fleet: Fleet) -> str:
    rows: list[list[str]] = []
    for host in fleet.hosts:
        processes = _processes(host)
        for index, process in enumerate(processes):
            first = index == 0
            rows.append(
                [
                    host.name if first else "",
                    ",".join(role.value for role in host.roles) if first else "",
                    str(host.private_address) if first else "",
                    process,
                    str(host.connections) if first and host.connections else "",
                ]
            )
    used, limit, arithmetic = connection_budget(fleet)
    summary = [
        f"fleet {fleet.name}: {fleet.instance.local_domain}, Mastodon {fleet.instance.version}, {len(fleet.hosts)} hosts",
        table(["host", "roles", "private", "processes", "db conns"], rows),
        f"database connections: {used} of {limit} ({arithmetic})",
        *redis_lines(fleet),
        search_line(fleet),
    ]
    replica = replica_connection_budget(fleet)
    if replica is not None:
        summary.append(f"read replica connections: {replica[2]}")
    return "\n".join(summary)


def redis_lines(fleet: Fleet) -> list[str]:
    """One line per Redis server: where, what it holds, how it is kept, the connections it may get."""
    lines = []
    for server in redis_servers(fleet):
        settings = server.settings
        kept = "persistent" if server.purpose.persistent else "no persistence"
        if settings.maxmemory_mb:
            kept += f", maxmemory {settings.maxmemory_mb} MB {server.eviction_policy}"
        _, arithmetic = connection_estimate(fleet, server)
        lines.append(
            f"redis {server.purpose.name} on {server.host.name} {server.address}:{settings.port}"
            f" [{', '.join(what_it_holds(fleet, server))}] ({kept}); connections at most: {arithmetic}"
        )
    return lines


def search_line(fleet: Fleet) -> str:
    endpoint = search_endpoint(fleet)
    if endpoint is None:
        return "search: off (no host in 'search', no search.external_host)"
    where = f"{search_settings(fleet).engine} on the search hosts" if endpoint.managed else "external cluster"
    return (
        f"search: {where} at {endpoint.address}, ES_PRESET {endpoint.preset}; indices by `tootctl search deploy` once"
    )
