"""Every metrics endpoint of the fleet, from the model: what Prometheus scrapes and what the
firewall must open to the monitor host.

Each endpoint listens on its host's private address only. A host gets exporters for what it runs:
node_exporter everywhere, PostgreSQL (and PgBouncer) on db hosts, every Redis server, nginx and
its access-log metrics on lb and edge hosts, Mastodon's exporter and each streaming process on app
hosts, Prometheus (and Alertmanager) on the monitor host. Without a monitor host there are none.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from mastofleet.model import Fleet, Host, Role
from mastofleet.views.redis_servers import servers_on

# The exporters' usual ports (Prometheus' default port allocations).
NODE_EXPORTER_PORT = 9100
POSTGRES_EXPORTER_PORT = 9187
PGBOUNCER_EXPORTER_PORT = 9127
REDIS_EXPORTER_PORT = 9121
NGINX_EXPORTER_PORT = 9113
NGINX_LOG_EXPORTER_PORT = 3903  # mtail, counting status codes and upstream errors in nginx's log
MASTODON_EXPORTER_PORT = 9394
PROMETHEUS_PORT = 9090
ALERTMANAGER_PORT = 9093


@dataclass(frozen=True)
class MetricsEndpoint:
    """One scrape target: on which host, where its exporter listens, its Prometheus job, what it shows.

    Most are an exporter's /metrics. A Redis server is scraped through the host's one redis_exporter
    (`/scrape?target=...`): its `instance` is then the Redis server's address, not the exporter's.
    """

    host: str
    address: str
    port: int
    job: str
    purpose: str
    path: str = "/metrics"
    params: tuple[tuple[str, str], ...] = ()
    instance_address: str | None = None
    labels: tuple[tuple[str, str], ...] = ()

    @property
    def target(self) -> str:
        """Where Prometheus connects."""
        return f"{self.address}:{self.port}"

    @property
    def instance(self) -> str:
        """The `instance` label of the target's series."""
        return self.instance_address or self.target

    @property
    def url(self) -> str:
        query = urlencode(list(self.params))  # a target like redis://127.0.0.1:6380 must be escaped
        return f"http://{self.target}{self.path}" + (f"?{query}" if query else "")


def runs_nginx(host: Host) -> bool:
    return host.has(Role.lb) or host.has(Role.edge)


def host_endpoints(fleet: Fleet, host: Host) -> list[MetricsEndpoint]:
    """The endpoints of one host, in a stable order."""
    if fleet.monitor_host is None or host.has(Role.retired):
        return []  # a retired host is on its way out: nothing to scrape, nothing to deploy there
    address = str(host.private_address)

    def endpoint(port: int, job: str, purpose: str) -> MetricsEndpoint:
        return MetricsEndpoint(host.name, address, port, job, purpose)

    endpoints = [endpoint(NODE_EXPORTER_PORT, "node", "node_exporter: disks, filesystems, load, memory")]
    if host.has(Role.db) or host.has(Role.db_replica):
        endpoints.append(
            endpoint(POSTGRES_EXPORTER_PORT, "postgres", "postgres_exporter: connections, WAL, replication")
        )
        if fleet.pgbouncer.enabled:
            endpoints.append(endpoint(PGBOUNCER_EXPORTER_PORT, "pgbouncer", "pgbouncer_exporter: pools and clients"))
    for server in servers_on(fleet, host):  # the main Redis, and the cache and Sidekiq ones when split
        port = server.settings.port
        endpoints.append(
            MetricsEndpoint(
                host.name,
                address,
                REDIS_EXPORTER_PORT,
                "redis",
                f"redis_exporter: the {server.purpose.name} Redis ({server.purpose.what}): memory, clients",
                path="/scrape",
                params=(("target", redis_target(port)),),
                instance_address=f"{address}:{port}",
                labels=(
                    ("redis", server.purpose.name),
                    ("evicting", "no" if server.eviction_policy == "noeviction" else "yes"),
                ),
            )
        )
    if runs_nginx(host):
        endpoints.append(endpoint(NGINX_EXPORTER_PORT, "nginx", "nginx exporter: stub_status connections"))
        endpoints.append(endpoint(NGINX_LOG_EXPORTER_PORT, "nginx_log", "mtail: nginx responses and upstream errors"))
    if host.has(Role.app):
        endpoints.append(endpoint(MASTODON_EXPORTER_PORT, "mastodon", "Mastodon's exporter: Sidekiq queues, Puma"))
        if host.streaming:
            endpoints += [
                endpoint(port, "streaming", f"mastodon-streaming@{port} /metrics") for port in host.streaming.ports
            ]
    if host.has(Role.monitor):
        endpoints.append(endpoint(PROMETHEUS_PORT, "prometheus", "Prometheus itself"))
        if fleet.monitoring.alertmanager.enabled:
            endpoints.append(endpoint(ALERTMANAGER_PORT, "alertmanager", "Alertmanager"))
    return endpoints


def redis_target(port: int) -> str:
    """How the host's redis_exporter reaches one of its Redis servers (over loopback)."""
    return f"redis://127.0.0.1:{port}"


def metrics_endpoints(fleet: Fleet) -> list[MetricsEndpoint]:
    """Every endpoint of the fleet: the scrape targets, host by host."""
    return [item for host in fleet.hosts for item in host_endpoints(fleet, host)]


def exporter_ports(fleet: Fleet) -> list[tuple[str, int, str]]:
    """(host, port, purpose) of every metrics port, once each: the firewall opens each to the monitor host only."""
    purposes: dict[tuple[str, int], list[str]] = {}
    for item in metrics_endpoints(fleet):
        purposes.setdefault((item.host, item.port), []).append(item.purpose)
    return [(host, port, "; ".join(texts)) for (host, port), texts in purposes.items()]
