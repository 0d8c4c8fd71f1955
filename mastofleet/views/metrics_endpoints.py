"""The metrics endpoints each role declares (its `metrics`, see `mastofleet.deploys.component`):
what Prometheus scrapes and what the firewall must open to the monitor host. `mastofleet.plan.metrics`
gathers them from the roles of each host.

Each endpoint listens on its host's private address only. A host gets exporters for what it runs:
node_exporter everywhere, PostgreSQL (and PgBouncer) on db hosts, every Redis server, nginx and
its access-log metrics on lb and edge hosts, Mastodon's exporter and each streaming process on app
hosts, Prometheus (and Alertmanager) on the monitor host. Without a monitor host there are none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
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


MetricsOf = Callable[[Fleet, Host], list[MetricsEndpoint]]


def runs_nginx(host: Host) -> bool:
    return host.has(Role.lb) or host.has(Role.edge)


def scraped(fleet: Fleet, host: Host) -> bool:
    """Only with a monitor host; a retired host is on its way out: nothing to scrape, nothing to deploy there."""
    return fleet.monitor_host is not None and not host.has(Role.retired)


def _endpoints(fleet: Fleet, host: Host, *jobs: tuple[int, str, str]) -> list[MetricsEndpoint]:
    """The (port, job, purpose) endpoints at the host's private address, when the fleet is scraped."""
    if not scraped(fleet, host):
        return []
    return [MetricsEndpoint(host.name, str(host.private_address), port, job, purpose) for port, job, purpose in jobs]


def node_endpoints(fleet: Fleet, host: Host) -> list[MetricsEndpoint]:
    return _endpoints(fleet, host, (NODE_EXPORTER_PORT, "node", "node_exporter: disks, filesystems, load, memory"))


def postgres_endpoints(fleet: Fleet, host: Host) -> list[MetricsEndpoint]:
    return _endpoints(
        fleet, host, (POSTGRES_EXPORTER_PORT, "postgres", "postgres_exporter: connections, WAL, replication")
    )


def pgbouncer_endpoints(fleet: Fleet, host: Host) -> list[MetricsEndpoint]:
    return _endpoints(fleet, host, (PGBOUNCER_EXPORTER_PORT, "pgbouncer", "pgbouncer_exporter: pools and clients"))


def redis_endpoints(fleet: Fleet, host: Host) -> list[MetricsEndpoint]:
    """Every Redis server of the host (the main one, and the cache and Sidekiq ones when split),
    each scraped through the host's one redis_exporter."""
    if not scraped(fleet, host):
        return []
    address = str(host.private_address)
    return [
        MetricsEndpoint(
            host.name,
            address,
            REDIS_EXPORTER_PORT,
            "redis",
            f"redis_exporter: the {server.purpose.name} Redis ({server.purpose.what}): memory, clients",
            path="/scrape",
            params=(("target", redis_target(server.settings.port)),),
            instance_address=f"{address}:{server.settings.port}",
            labels=(
                ("redis", server.purpose.name),
                ("evicting", "no" if server.eviction_policy == "noeviction" else "yes"),
            ),
        )
        for server in servers_on(fleet, host)
    ]


def nginx_endpoints(fleet: Fleet, host: Host) -> list[MetricsEndpoint]:
    return _endpoints(
        fleet,
        host,
        (NGINX_EXPORTER_PORT, "nginx", "nginx exporter: stub_status connections"),
        (NGINX_LOG_EXPORTER_PORT, "nginx_log", "mtail: nginx responses and upstream errors"),
    )


def mastodon_endpoints(fleet: Fleet, host: Host) -> list[MetricsEndpoint]:
    return _endpoints(fleet, host, (MASTODON_EXPORTER_PORT, "mastodon", "Mastodon's exporter: Sidekiq queues, Puma"))


def streaming_endpoints(fleet: Fleet, host: Host) -> list[MetricsEndpoint]:
    ports = host.streaming.ports if host.streaming else []
    return _endpoints(fleet, host, *((port, "streaming", f"mastodon-streaming@{port} /metrics") for port in ports))


def monitor_endpoints(fleet: Fleet, host: Host) -> list[MetricsEndpoint]:
    alertmanager = [(ALERTMANAGER_PORT, "alertmanager", "Alertmanager")] if fleet.monitoring.alertmanager.enabled else []
    return _endpoints(fleet, host, (PROMETHEUS_PORT, "prometheus", "Prometheus itself"), *alertmanager)


def no_metrics(fleet: Fleet, host: Host) -> list[MetricsEndpoint]:
    return []


# The order of a host's endpoints, and of the jobs in prometheus.yml (the roles declare them in registry order).
JOBS = ("node", "postgres", "pgbouncer", "redis", "nginx", "nginx_log", "mastodon", "streaming", "prometheus", "alertmanager")


def in_job_order(endpoints: Iterable[MetricsEndpoint]) -> list[MetricsEndpoint]:
    """Each endpoint once (nginx serves both the lb and the edge role), job by job, in declared order within a job."""
    return sorted(dict.fromkeys(endpoints), key=lambda item: JOBS.index(item.job))


def redis_target(port: int) -> str:
    """How the host's redis_exporter reaches one of its Redis servers (over loopback)."""
    return f"redis://127.0.0.1:{port}"
