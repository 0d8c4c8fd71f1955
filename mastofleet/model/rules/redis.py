"""Rules over the Redis servers: their ports on a shared host, their connections, settings without a server."""

from __future__ import annotations

from mastofleet.model.fleet import Fleet
from mastofleet.model.problems import Problem
from mastofleet.model.redis_servers import MAIN, MAXCLIENTS, connection_estimate, redis_servers, servers_on
from mastofleet.model.roles import Role


def redis_problems(fleet: Fleet) -> list[Problem]:
    """Two servers on one host need their own ports; no server may be promised more connections than it takes;
    settings for a Redis no host runs are a mistake."""
    problems: list[Problem] = []
    for host in fleet.hosts:
        ports: dict[int, str] = {}
        for server in servers_on(fleet, host):
            port = server.settings.port
            if port in ports:
                problems.append(
                    Problem(
                        host.name,
                        f"redis_{server.purpose.name}.port" if server.purpose is not MAIN else "redis.port",
                        f"the {server.purpose.name} Redis and the {ports[port]} Redis both want port {port} on this host",
                        "give one of them another port",
                    )
                )
            ports.setdefault(port, server.purpose.name)
    for server in redis_servers(fleet):
        used, arithmetic = connection_estimate(fleet, server)
        if used > MAXCLIENTS:
            problems.append(
                Problem(
                    server.host.name,
                    "connections",
                    f"the app may open more connections to the {server.purpose.name} Redis than it accepts: {arithmetic}",
                    "split Redis further (redis_cache, redis_sidekiq) or lower threads",
                )
            )
    for section, role in (("redis_cache", Role.redis_cache), ("redis_sidekiq", Role.redis_sidekiq)):
        if getattr(fleet, section) is not None and not fleet.with_role(role):
            problems.append(
                Problem(
                    section,
                    "(section)",
                    f"settings for the {section} Redis are given but no host is in the group '{role.value}'",
                    f"add a host to the inventory group '{role.value}' or remove the {section} settings",
                )
            )
    return problems
