"""The systemd services each host runs, from the roles that apply to it (for status, tests and rollouts)."""

from __future__ import annotations

from mastofleet.deploys import registry
from mastofleet.deploys.exporters import METRICS_SERVICES as METRICS_SERVICES
from mastofleet.model import Fleet, Host


def expected_services(fleet: Fleet, host: Host) -> list[str]:
    """Every service the host's roles run, once each (nginx serves both the lb and the edge role)."""
    services = [service for component in registry.on_host(fleet, host) for service in component.services(fleet, host)]
    return list(dict.fromkeys(services))
