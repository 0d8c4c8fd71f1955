"""The monitor role: Debian's Prometheus scraping every metrics endpoint of the model, with the
fleet's alert rules, and optionally Alertmanager routing the alerts to the configured receivers."""

from __future__ import annotations

from collections import defaultdict

from pyinfra import host as current_host
from pyinfra.facts.deb import DebPackages
from pyinfra.operations import files, server, systemd

from mastofleet.deploys.component import Component, Run, Stage, with_role
from mastofleet.deploys.operations import changed, install_without_starting, put_files, role_deploy, service_running
from mastofleet.model import Fleet, Host, Role
from mastofleet.model.secrets_reference import secret_name
from mastofleet.views.config_file import ConfigFile, SecretValues
from mastofleet.views.metrics_endpoints import (
    ALERTMANAGER_PORT,
    PROMETHEUS_PORT,
    MetricsEndpoint,
    MetricsOf,
    monitor_endpoints,
)
from mastofleet.views.openings import Opening, from_operators
from mastofleet.views.templating import render

PROMETHEUS_ARGUMENTS = "/etc/default/prometheus"
PROMETHEUS_CONFIGURATION = "/etc/prometheus/prometheus.yml"
RULES_DIRECTORY = "/etc/prometheus/rules"
RULE_FILES = ("hosts", "nginx", "databases", "mastodon")
ALERTMANAGER_CONFIGURATION = "/etc/prometheus/alertmanager.yml"
ALERTMANAGER = "prometheus-alertmanager"
ALERTMANAGER_ARGUMENTS = f"/etc/default/{ALERTMANAGER}"


def _own_endpoint(fleet: Fleet, host: Host, job: str) -> MetricsEndpoint | None:
    own = monitor_endpoints(fleet, host) if host.has(Role.monitor) else []
    return next((item for item in own if item.job == job), None)


def scrape_jobs(fleet: Fleet, metrics_of: MetricsOf) -> dict[str, list[MetricsEndpoint]]:
    """The scrape targets by job: what `metrics_of` says the roles of each host expose, host by host."""
    jobs: dict[str, list[MetricsEndpoint]] = defaultdict(list)
    for endpoint in (item for host in fleet.hosts for item in metrics_of(fleet, host)):
        jobs[endpoint.job].append(endpoint)
    return dict(jobs)


def rule_files(fleet: Fleet) -> list[ConfigFile]:
    latencies = fleet.monitoring.sidekiq_latency_seconds
    return [
        ConfigFile(
            f"{RULES_DIRECTORY}/mastofleet-{name}.yml", render(f"monitoring/rules/{name}.yml.j2", latencies=latencies)
        )
        for name in RULE_FILES
    ]


def prometheus_files(fleet: Fleet, host: Host, metrics_of: MetricsOf) -> list[ConfigFile]:
    endpoint = _own_endpoint(fleet, host, "prometheus")
    assert endpoint is not None, f"{host.name} has no monitor role"
    context = {"fleet": fleet, "host": host, "monitoring": fleet.monitoring}
    return [
        ConfigFile(PROMETHEUS_ARGUMENTS, render("monitoring/prometheus.default.j2", endpoint=endpoint, **context)),
        ConfigFile(
            PROMETHEUS_CONFIGURATION,
            render(
                "monitoring/prometheus.yml.j2",
                jobs=scrape_jobs(fleet, metrics_of),
                rules_directory=RULES_DIRECTORY,
                alertmanager=_own_endpoint(fleet, host, "alertmanager"),
                **context,
            ),
        ),
        *rule_files(fleet),
    ]


def alertmanager_files(fleet: Fleet, host: Host, secrets: SecretValues) -> list[ConfigFile]:
    endpoint = _own_endpoint(fleet, host, "alertmanager")
    if endpoint is None:
        return []
    settings = fleet.monitoring.alertmanager
    emails = any(receiver.email_to for receiver in settings.receivers)
    smtp = fleet.smtp if emails else None
    smtp_password = secrets[secret_name(smtp.password)] if smtp and smtp.password else ""
    webhook_urls = {
        receiver.name: secrets[secret_name(receiver.webhook_url)]
        for receiver in settings.receivers
        if receiver.webhook_url
    }
    configuration = render(
        "monitoring/alertmanager.yml.j2",
        fleet=fleet,
        alertmanager=settings,
        receivers=settings.receivers,
        smtp=smtp,
        smtp_password=smtp_password,
        webhook_urls=webhook_urls,
    )
    return [
        ConfigFile(
            ALERTMANAGER_ARGUMENTS,
            render(
                "monitoring/alertmanager.default.j2",
                host=host,
                endpoint=endpoint,
                configuration=ALERTMANAGER_CONFIGURATION,
            ),
        ),
        ConfigFile(
            ALERTMANAGER_CONFIGURATION,
            configuration,
            mode="640",
            group="prometheus",
            sensitive=bool(smtp_password or webhook_urls),
        ),
    ]


def files_for(fleet: Fleet, host: Host, secrets: SecretValues, metrics_of: MetricsOf) -> list[ConfigFile]:
    return prometheus_files(fleet, host, metrics_of) + alertmanager_files(fleet, host, secrets)


def firewall_rules(fleet: Fleet, host: Host) -> list[Opening]:
    """Prometheus' (and Alertmanager's) web interface and API to the operators, from where they connect."""
    openings = [Opening("prometheus for operators", PROMETHEUS_PORT, from_operators(fleet))]
    if fleet.monitoring.alertmanager.enabled:
        openings.append(Opening("alertmanager for operators", ALERTMANAGER_PORT, from_operators(fleet)))
    return openings


@role_deploy("Monitoring")
def monitoring(fleet: Fleet, host: Host, secrets: SecretValues, metrics_of: MetricsOf) -> None:
    """
    Install Debian's Prometheus without starting it on the package's defaults, listening on the
    private address only, scraping every exporter of the fleet and evaluating the fleet's alert
    rules; `promtool check config` vets a change before Prometheus reloads it. With Alertmanager
    enabled, run it too (no cluster port), checked by `amtool check-config` before a reload.
    """
    alerting = alertmanager_files(fleet, host, secrets)
    install_without_starting("Install Prometheus", ["prometheus"] + ([ALERTMANAGER] if alerting else []))
    files.directory(name="Create the rules directory", path=RULES_DIRECTORY, mode="755")
    rendered = prometheus_files(fleet, host, metrics_of)
    uploaded = put_files(rendered)
    arguments, configuration = uploaded.of(PROMETHEUS_ARGUMENTS), uploaded.of(PROMETHEUS_CONFIGURATION)
    rules = [uploaded.of(item.path) for item in rule_files(fleet)]
    server.shell(
        name="Check the Prometheus configuration and rules",
        commands=[f"promtool check config {PROMETHEUS_CONFIGURATION}"],
        _if=changed(configuration, rules),
    )
    service_running("prometheus", restart_when=changed(arguments), inputs=[PROMETHEUS_ARGUMENTS])
    service_running(
        "prometheus",
        restart_when=changed(configuration, rules),
        reload_instead=True,
        inputs=[item.path for item in rendered if item.path != PROMETHEUS_ARGUMENTS],
    )
    if alerting:
        alert_uploads = put_files(alerting)
        alert_arguments = alert_uploads.of(ALERTMANAGER_ARGUMENTS)
        alert_configuration = alert_uploads.of(ALERTMANAGER_CONFIGURATION)
        server.shell(
            name="Check the Alertmanager configuration",
            commands=[f"amtool check-config {ALERTMANAGER_CONFIGURATION} >/dev/null"],
            _if=changed(alert_configuration),
        )
        service_running(ALERTMANAGER, restart_when=changed(alert_arguments), inputs=[ALERTMANAGER_ARGUMENTS])
        service_running(
            ALERTMANAGER,
            restart_when=changed(alert_configuration),
            reload_instead=True,
            inputs=[ALERTMANAGER_CONFIGURATION],
        )
    elif ALERTMANAGER in (current_host.get_fact(DebPackages) or {}):
        systemd.service(
            name="Stop Alertmanager (disabled in the model)", service=ALERTMANAGER, running=False, enabled=False
        )


def component(metrics_of: MetricsOf) -> Component:
    """The monitor role, scraping what `metrics_of` says the roles of each host expose (the registry's gathering)."""

    def files(fleet: Fleet, host: Host, secrets: SecretValues) -> list[ConfigFile]:
        return files_for(fleet, host, secrets, metrics_of)

    def periphery(run: Run) -> None:
        monitoring(run.fleet, run.host, run.secrets, metrics_of)

    # Prometheus' and Alertmanager's services are watched with the other metrics services (exporters).
    return Component(
        name="monitoring",
        applies=with_role(Role.monitor),
        files=files,
        openings=firewall_rules,
        metrics=monitor_endpoints,
        steps={Stage.PERIPHERY: periphery},
    )
