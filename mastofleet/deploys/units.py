"""What the Mastodon process units share: the template context and the restart-on-change rule."""

from __future__ import annotations

from typing import Any

from pyinfra.api.operation import OperationMeta

from mastofleet.deploys.mastodon import JEMALLOC, Application, bundle_executable
from mastofleet.deploys.operations import changed, enable_service, restart_needed
from mastofleet.deploys.release import PendingRestart as PendingRestart
from mastofleet.model import Fleet, Host, Role
from mastofleet.views.metrics_endpoints import mastodon_endpoints

SYSTEMD_DIRECTORY = "/etc/systemd/system"


def unit_context(fleet: Fleet, host: Host, **extra: Any) -> dict[str, Any]:
    # Puma and Sidekiq report to mastodon-prometheus-exporter on their own host, at its private address.
    metrics = next(iter(mastodon_endpoints(fleet, host)), None) if host.has(Role.app) else None
    return {
        "instance": fleet.instance,
        "host": host,
        "bundle": bundle_executable(fleet.instance),
        "jemalloc": JEMALLOC,
        "streaming_unit": False,
        "metrics_endpoint": metrics,
        "local_media": fleet.object_storage is None or not fleet.object_storage.enabled,
        **extra,
    }


def start_units(
    services: list[str], units: list[OperationMeta], unit_paths: list[str], application: Application
) -> list[PendingRestart]:
    """Enable and start each service; return the restarts it needs for a changed unit, code or configuration."""
    restart = changed(units, application.code, application.configuration)
    inputs = [*unit_paths, *application.inputs]
    pending = []
    for index, service in enumerate(services):
        enable_service(service, daemon_reload_when=changed(units) if index == 0 else None)
        pending.append(PendingRestart(service, restart_needed(service, restart, inputs)))
    return pending


def run_units(services: list[str], units: list[OperationMeta], unit_paths: list[str], application: Application) -> None:
    """Start each service and restart it right away when its unit, the code or the configuration changed."""
    for pending in start_units(services, units, unit_paths, application):
        pending.perform()
