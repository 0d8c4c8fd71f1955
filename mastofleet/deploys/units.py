"""What the Mastodon process units share: the template context and the restart-on-change rule."""

from __future__ import annotations

from typing import Any

from pyinfra.api.operation import OperationMeta

from mastofleet.deploys.mastodon import JEMALLOC, Application, bundle_command
from mastofleet.model import Fleet, Host
from mastofleet.operations import changed, service_running

SYSTEMD_DIRECTORY = "/etc/systemd/system"


def unit_context(fleet: Fleet, host: Host, **extra: Any) -> dict[str, Any]:
    return {
        "instance": fleet.instance,
        "host": host,
        "bundle": bundle_command(fleet.instance),
        "jemalloc": JEMALLOC,
        "streaming_unit": False,
        **extra,
    }


def run_units(services: list[str], units: list[OperationMeta], unit_paths: list[str], application: Application) -> None:
    """Start each service; restart it when its unit, the code or the configuration changed."""
    restart = changed(units, application.code, application.configuration)
    inputs = [*unit_paths, *application.inputs]
    for index, service in enumerate(services):
        service_running(
            service,
            restart_when=restart,
            daemon_reload_when=changed(units) if index == 0 else None,
            inputs=inputs,
        )
