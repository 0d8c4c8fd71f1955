"""The systemd services each host runs, from the fleet model (for status, tests and rollouts)."""

from __future__ import annotations

from mastofleet.metrics_endpoints import host_endpoints
from mastofleet.model import Fleet, Host, Role


def expected_services(fleet: Fleet, host: Host) -> list[str]:
    services: list[str] = []
    if host.has(Role.db) or host.has(Role.db_replica):
        services.append(f"postgresql@{fleet.postgres.version}-main.service")
        if fleet.pgbouncer.enabled:
            services.append("pgbouncer.service")
    if host.has(Role.redis):
        services.append("redis-server.service")
    if host.has(Role.lb) or host.has(Role.edge):
        services.append("nginx.service")
    if host.has(Role.edge) and fleet.migrating_media:
        services.append("mastofleet-media-writeback.service")
    if host.web:
        services.append("mastodon-web.service")
    if host.streaming:
        services += [f"mastodon-streaming@{port}.service" for port in host.streaming.ports]
    services += [process.unit for process in host.sidekiq]
    services += [METRICS_SERVICES[item.job] for item in host_endpoints(fleet, host) if item.job in METRICS_SERVICES]
    return services


# The service behind each metrics job (streaming's /metrics is served by the streaming units above).
METRICS_SERVICES = {
    "node": "prometheus-node-exporter.service",
    "postgres": "prometheus-postgres-exporter.service",
    "pgbouncer": "prometheus-pgbouncer-exporter.service",
    "redis": "prometheus-redis-exporter.service",
    "nginx": "prometheus-nginx-exporter.service",
    "nginx_log": "mtail.service",
    "mastodon": "mastodon-prometheus-exporter.service",
    "prometheus": "prometheus.service",
    "alertmanager": "prometheus-alertmanager.service",
}
