"""Mastodon's Prometheus exporter on app hosts: `mastodon-prometheus-exporter.service`.

With MASTODON_PROMETHEUS_EXPORTER_ENABLED (and the Sidekiq detailed metrics) in `.env.production`,
Puma and every Sidekiq process send their metrics to this exporter on their own host
(PROMETHEUS_EXPORTER_HOST/PORT in their units); Prometheus scrapes it on the private address.
"""

from __future__ import annotations

from mastofleet.deploys.component import Component, Run, Stage, with_role
from mastofleet.deploys.mastodon import Application
from mastofleet.deploys.operations import put_files, role_deploy
from mastofleet.deploys.units import SYSTEMD_DIRECTORY, run_units, unit_context
from mastofleet.model import Fleet, Host, Role
from mastofleet.views.config_file import ConfigFile, SecretValues
from mastofleet.views.metrics_endpoints import mastodon_endpoints
from mastofleet.views.templating import render

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


@role_deploy("Mastodon Prometheus exporter")
def mastodon_exporter(fleet: Fleet, host: Host, application: Application) -> None:
    """
    Run `bin/prometheus_exporter --prefix mastodon_` on the host's private address, under the same
    sandbox as the other Mastodon units; restarted when the code, the configuration or its unit changes.
    """
    rendered = files_for(fleet, host, SecretValues())
    units = put_files(rendered)
    run_units([SERVICE], units, [item.path for item in rendered], application)


def _start(run: Run) -> None:
    if run.fleet.monitor_host:
        assert run.application is not None
        mastodon_exporter(run.fleet, run.host, run.application)


# Its service is watched with the other metrics services (the exporters component).
COMPONENT = Component(
    name="mastodon_exporter", applies=with_role(Role.app), files=files_for, metrics=mastodon_endpoints,
    steps={Stage.START: _start},
)
