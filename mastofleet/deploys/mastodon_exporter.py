"""Mastodon's Prometheus exporter on app hosts: `mastodon-prometheus-exporter.service`.

With MASTODON_PROMETHEUS_EXPORTER_ENABLED (and the Sidekiq detailed metrics) in `.env.production`,
Puma and every Sidekiq process send their metrics to this exporter on their own host
(PROMETHEUS_EXPORTER_HOST/PORT in their units); Prometheus scrapes it on the private address.
"""

from __future__ import annotations

from pyinfra.api import deploy

from mastofleet.deploys.mastodon import Application
from mastofleet.deploys.units import SYSTEMD_DIRECTORY, run_units, unit_context
from mastofleet.files import ConfigFile, SecretValues
from mastofleet.model import Fleet, Host
from mastofleet.operations import put_files
from mastofleet.templating import render

SERVICE = "mastodon-prometheus-exporter.service"


def files_for(fleet: Fleet, host: Host, secrets: SecretValues) -> list[ConfigFile]:
    context = unit_context(fleet, host)
    if context["metrics_endpoint"] is None:
        return []
    return [
        ConfigFile(
            f"{SYSTEMD_DIRECTORY}/{SERVICE}",
            render("systemd/mastodon-prometheus-exporter.service.j2", endpoint=context["metrics_endpoint"], **context),
        )
    ]


@deploy("Mastodon Prometheus exporter")
def mastodon_exporter(fleet: Fleet, host: Host, application: Application) -> None:
    """
    Run `bin/prometheus_exporter --prefix mastodon_` on the host's private address, under the same
    sandbox as the other Mastodon units; restarted when the code, the configuration or its unit changes.
    """
    rendered = files_for(fleet, host, SecretValues())
    units = put_files(rendered)
    run_units([SERVICE], units, [item.path for item in rendered], application)
