"""Every metrics endpoint of the fleet, gathered from what the roles of each host declare (the
registry): what Prometheus scrapes, and the ports the firewall opens to the monitor host."""

from __future__ import annotations

from mastofleet.deploys import registry
from mastofleet.model import Fleet, Host
from mastofleet.views.metrics_endpoints import MetricsEndpoint


def host_endpoints(fleet: Fleet, host: Host) -> list[MetricsEndpoint]:
    """The endpoints of one host, job by job."""
    return registry.metrics(fleet, host)


def metrics_endpoints(fleet: Fleet) -> list[MetricsEndpoint]:
    """Every endpoint of the fleet: the scrape targets, host by host."""
    return [item for host in fleet.hosts for item in host_endpoints(fleet, host)]


def exporter_ports(fleet: Fleet) -> list[tuple[str, int, str]]:
    """(host, port, purpose) of every metrics port, once each: the firewall opens each to the monitor host only."""
    purposes: dict[tuple[str, int], list[str]] = {}
    for item in metrics_endpoints(fleet):
        purposes.setdefault((item.host, item.port), []).append(item.purpose)
    return [(host, port, "; ".join(texts)) for (host, port), texts in purposes.items()]
