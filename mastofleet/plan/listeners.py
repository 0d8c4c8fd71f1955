"""What listens where on each host: one row per service and port, from what the roles open.

Every role declares the ports it listens on as firewall openings (`mastofleet.views.openings`);
several openings may be one listener (Prometheus is opened to the monitor host for its own
metrics and to the operators, a streaming process serves its API and its /metrics on one port).
Two different services on one port of a host is a fleet that cannot start: one of them would fail
to bind, or, worse, answer in the other's place.
"""

from __future__ import annotations

from dataclasses import dataclass

from mastofleet.model import Fleet, Host
from mastofleet.model.problems import Problem
from mastofleet.plan.firewall import openings
from mastofleet.views.openings import Opening
from mastofleet.views.report import table

# Openings that are another door to a listener already named: the metrics of a service on its own port.
SAME_LISTENER = {
    "metrics prometheus": "prometheus",
    "prometheus for operators": "prometheus",
    "metrics alertmanager": "alertmanager",
    "alertmanager for operators": "alertmanager",
}
# Where the operator sets each service's port, for the fix of a clash.
PORT_FIELDS = {
    "puma": "web.port",
    "streaming": "streaming.ports",
    "postgresql": "postgres.port",
    "pgbouncer": "pgbouncer.port",
    "redis main": "redis.port",
    "redis cache": "redis_cache.port",
    "redis sidekiq": "redis_sidekiq.port",
    "search http": "search.port",
}


@dataclass(frozen=True)
class Listener:
    """One service listening on one port of a host."""

    host: str
    address: str
    port: int
    protocol: str
    service: str
    reachable_from: str


def _service(opening: Opening) -> str:
    if opening.service == "metrics streaming":
        return f"streaming@{opening.port}"  # the streaming process serves /metrics itself
    return SAME_LISTENER.get(opening.service, opening.service)


def _private_only(fleet: Fleet, opening: Opening) -> bool:
    """Whether every source is on the private network: then the service needs only the private address."""
    if opening.sources is None:
        return False
    network = fleet.private_network
    return all(source.network.version == 4 and source.network.subnet_of(network) for source in opening.sources)


def _reachable_from(opening: Opening) -> str:
    if opening.sources is None:
        return "anyone"
    return ", ".join(sorted({source.name for source in opening.sources})) or "nobody"


def listeners(fleet: Fleet, host: Host) -> list[Listener]:
    """The listeners of `host`, in role order, each (service, port) once."""
    found: dict[tuple[str, int, str], Listener] = {}
    for opening in openings(fleet, host):
        service = _service(opening)
        address = str(host.private_address) if _private_only(fleet, opening) else "0.0.0.0"
        key = (service, opening.port, opening.protocol)
        earlier = found.get(key)
        reachable = _reachable_from(opening)
        if earlier is not None:
            reachable = ", ".join(sorted({*earlier.reachable_from.split(", "), *reachable.split(", ")}))
        found[key] = Listener(host.name, address, opening.port, opening.protocol, service, reachable)
    return list(found.values())


def listener_problems(fleet: Fleet) -> list[Problem]:
    """A problem for each port of a host that two services want."""
    problems = []
    for host in fleet.hosts:
        by_port: dict[tuple[int, str], list[str]] = {}
        for listener in listeners(fleet, host):
            by_port.setdefault((listener.port, listener.protocol), []).append(listener.service)
        for (port, protocol), services in by_port.items():
            if len(services) < 2:
                continue
            fields = sorted({PORT_FIELDS[name.split("@")[0]] for name in services if name.split("@")[0] in PORT_FIELDS})
            problems.append(
                Problem(
                    host.name,
                    f"port {port}/{protocol}",
                    f"{' and '.join(services)} would both listen on port {port}; one would fail to start",
                    f"give one of them another port ({', '.join(fields)})"
                    if fields
                    else "these ports are fixed by their roles: move one role to another host",
                )
            )
    return problems


def listeners_table(fleet: Fleet) -> str:
    """`mastofleet check --listeners`: every listener of every host."""
    rows = [
        [item.host, item.address, str(item.port), item.protocol, item.service, item.reachable_from]
        for host in fleet.hosts
        for item in listeners(fleet, host)
    ]
    return table(["host", "address", "port", "protocol", "service", "reachable from"], rows)
