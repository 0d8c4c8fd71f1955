"""Exporters on every host of a monitored fleet, from Debian's packages, each on the private address.

node_exporter everywhere (with a textfile collector fed by a timer: the nftables rule count and the
TLS certificates' expiry), postgres_exporter and pgbouncer_exporter on db hosts, redis_exporter on
hosts running Redis (one exporter scraping each of the host's Redis servers), and on lb and edge hosts nginx's stub_status (loopback) read by the nginx exporter plus
mtail counting answers and upstream errors in a metrics log. Which host gets what, and where it
listens, comes from `mastofleet.views.metrics_endpoints`; Mastodon's own exporter is `mastodon_exporter`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pyinfra import host as current_host
from pyinfra.api import FactBase
from pyinfra.operations import apt, files, postgres, server

from mastofleet.deploys.component import Component, Run, Stage, everywhere, in_service
from mastofleet.deploys.operations import (
    as_user,
    changed,
    install_without_starting,
    put_files,
    role_deploy,
    service_running,
)
from mastofleet.model import Fleet, Host, Role
from mastofleet.model.secrets_reference import secret_name
from mastofleet.views.config_file import ConfigFile, SecretValues
from mastofleet.views.metrics_endpoints import MetricsEndpoint, MetricsOf, redis_target, runs_nginx
from mastofleet.views.openings import Opening, from_roles
from mastofleet.views.redis_servers import servers_on
from mastofleet.views.replication import upstream_of
from mastofleet.views.templating import render

TEXTFILE_DIRECTORY = "/var/lib/prometheus/node-exporter"
TEXTFILE_SCRIPT = "/usr/local/lib/mastofleet/textfile-metrics"
TEXTFILE_UNIT = "mastofleet-textfile-metrics"
TEXTFILE_SERVICE = f"/etc/systemd/system/{TEXTFILE_UNIT}.service"
TEXTFILE_TIMER = f"/etc/systemd/system/{TEXTFILE_UNIT}.timer"
NGINX_STATUS_PORT = 8089  # stub_status, on 127.0.0.1 only
NGINX_METRICS_LOG = "/var/log/nginx/mastofleet-metrics.log"
# First in conf.d: its log_format must be defined before a site that logs in it.
NGINX_METRICS_CONFIGURATION = "/etc/nginx/conf.d/00-mastofleet-metrics.conf"
REDIS_PASSWORDS = "/etc/prometheus-redis-exporter/passwords.json"
MONITORING_ROLE = "prometheus"  # the PostgreSQL role postgres_exporter logs in as


@dataclass(frozen=True)
class Exporter:
    """One exporter service: its Debian package, its rendered settings, where it listens."""

    package: str
    service: str
    endpoint: MetricsEndpoint
    files: list[ConfigFile]


def _endpoint(endpoints: list[MetricsEndpoint], job: str) -> MetricsEndpoint:
    return next(item for item in endpoints if item.job == job)


def exporters_for(
    fleet: Fleet, host: Host, secrets: SecretValues, endpoints: list[MetricsEndpoint]
) -> list[Exporter]:
    """The exporter services of `host` for its roles' metrics `endpoints`, in deploy order (none when
    the fleet has no monitor host)."""
    jobs = {item.job for item in endpoints}
    if "node" not in jobs:
        return []
    context = {"fleet": fleet, "host": host}

    def default_file(job: str, package: str, template: str, **extra: object) -> Exporter:
        endpoint = _endpoint(endpoints, job)
        text = render(f"exporters/{template}", endpoint=endpoint, **context, **extra)
        return Exporter(package, f"{package}.service", endpoint, [ConfigFile(f"/etc/default/{package}", text)])

    exporters = [
        default_file(
            "node", "prometheus-node-exporter", "node-exporter.default.j2", textfile_directory=TEXTFILE_DIRECTORY
        )
    ]
    if "postgres" in jobs:
        exporters.append(
            default_file(
                "postgres", "prometheus-postgres-exporter", "postgres-exporter.default.j2", postgres=fleet.postgres
            )
        )
    if "pgbouncer" in jobs:
        exporters.append(
            default_file(
                "pgbouncer", "prometheus-pgbouncer-exporter", "pgbouncer-exporter.default.j2", pgbouncer=fleet.pgbouncer
            )
        )
    if "redis" in jobs:
        # The default user is off: the exporter logs in as the app's ACL user (INFO is all it asks).
        users = sorted({server.settings.app_user for server in servers_on(fleet, host)})
        redis = default_file(
            "redis",
            "prometheus-redis-exporter",
            "redis-exporter.default.j2",
            password_file=REDIS_PASSWORDS,
            user=users[0] if users else None,
        )
        redis.files.append(redis_passwords(fleet, host, secrets))
        exporters.append(redis)
    if "nginx" in jobs:
        exporters.append(
            default_file(
                "nginx", "prometheus-nginx-exporter", "nginx-exporter.default.j2", status_port=NGINX_STATUS_PORT
            )
        )
        log = _endpoint(endpoints, "nginx_log")
        exporters.append(
            Exporter(
                "mtail",
                "mtail.service",
                log,
                [
                    ConfigFile(
                        "/etc/default/mtail",
                        render("exporters/mtail.default.j2", endpoint=log, log_file=NGINX_METRICS_LOG, **context),
                    ),
                    ConfigFile("/etc/mtail/nginx.mtail", render("exporters/nginx.mtail.j2")),
                ],
            )
        )
    return exporters


def redis_passwords(fleet: Fleet, host: Host, secrets: SecretValues) -> ConfigFile:
    """redis_exporter's password of each Redis server on the host, by the address it scrapes it at:
    a file only the exporter reads, so no password is on a command line or in its environment."""
    # With -redis.user set, redis_exporter looks a target's password up by its address with the
    # user in it (redis://USER@127.0.0.1:PORT), while Prometheus names the target without it.
    passwords = {
        redis_target(server.settings.port).replace("://", f"://{server.settings.app_user}@", 1): secrets[
            secret_name(server.settings.password)
        ]
        for server in servers_on(fleet, host)
    }
    return ConfigFile(
        REDIS_PASSWORDS,
        json.dumps(passwords, indent=2, sort_keys=True) + "\n",
        mode="640",
        group="prometheus",
        sensitive=True,
    )


def textfile_files(fleet: Fleet, host: Host) -> list[ConfigFile]:
    return [
        ConfigFile(
            TEXTFILE_SCRIPT,
            render(
                "exporters/textfile-metrics.sh.j2",
                host=host,
                textfile_directory=TEXTFILE_DIRECTORY,
                nginx=runs_nginx(host),
            ),
            mode="755",
        ),
        ConfigFile(
            TEXTFILE_SERVICE,
            render("exporters/mastofleet-textfile-metrics.service.j2", script=TEXTFILE_SCRIPT),
        ),
        ConfigFile(
            TEXTFILE_TIMER, render("exporters/mastofleet-textfile-metrics.timer.j2")
        ),
    ]


def nginx_metrics_file(host: Host) -> ConfigFile:
    return ConfigFile(
        NGINX_METRICS_CONFIGURATION,
        render("exporters/nginx-metrics.conf.j2", host=host, log_file=NGINX_METRICS_LOG, status_port=NGINX_STATUS_PORT),
    )


def files_for(fleet: Fleet, host: Host, secrets: SecretValues, endpoints: list[MetricsEndpoint]) -> list[ConfigFile]:
    exporters = exporters_for(fleet, host, secrets, endpoints)
    if not exporters:
        return []
    rendered = textfile_files(fleet, host)
    if runs_nginx(host):
        rendered.append(nginx_metrics_file(host))
    for exporter in exporters:
        rendered += exporter.files
    return rendered


class MonitoringRoleGranted(FactBase[bool]):
    """Whether the `prometheus` PostgreSQL role is a member of pg_monitor."""

    def requires_command(self, *args: object, **kwargs: object) -> str:
        return "psql"

    def command(self) -> str:
        return (
            'psql -tAc "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member'
            f" JOIN pg_roles g ON g.oid = m.roleid WHERE r.rolname = '{MONITORING_ROLE}' AND g.rolname = 'pg_monitor'\""
        )

    def process(self, output: list[str]) -> bool:
        return bool(output) and output[0].strip() == "1"


def monitoring_role() -> None:
    """postgres_exporter's login: no password, pg_monitor's rights, local socket only (peer)."""
    as_postgres = as_user("postgres")
    postgres.role(name=f"Create the {MONITORING_ROLE} role", role=MONITORING_ROLE, login=True, **as_postgres)
    if not current_host.get_fact(MonitoringRoleGranted, **as_postgres):
        postgres.sql(
            name=f"Grant pg_monitor to {MONITORING_ROLE}", sql=f"GRANT pg_monitor TO {MONITORING_ROLE}", **as_postgres
        )


def firewall_rules(fleet: Fleet, endpoints: list[MetricsEndpoint]) -> list[Opening]:
    """Every metrics endpoint of this host (exporters, Mastodon's, streaming, Prometheus), to the monitor host."""
    monitor = from_roles(fleet, Role.monitor)
    return [Opening(f"metrics {endpoint.job}", endpoint.port, monitor) for endpoint in endpoints]


@role_deploy("Exporters")
def exporters(fleet: Fleet, host: Host, secrets: SecretValues, endpoints: list[MetricsEndpoint]) -> None:
    """
    Install this host's exporters from Debian without starting them on the package's defaults,
    configure each to listen on the private address only, and start it; restart it when its
    settings change. Every host also gets the textfile metrics timer, db hosts the `prometheus`
    role, lb and edge hosts the metrics log and stub_status in nginx (checked, then reloaded).
    """
    rendered = exporters_for(fleet, host, secrets, endpoints)
    install_without_starting("Install the exporters", [exporter.package for exporter in rendered])
    textfile = put_files(textfile_files(fleet, host))
    script, service, timer = textfile.of(TEXTFILE_SCRIPT), textfile.of(TEXTFILE_SERVICE), textfile.of(TEXTFILE_TIMER)
    service_running(f"{TEXTFILE_UNIT}.timer", daemon_reload_when=changed(service, timer))
    server.shell(
        name="Write the textfile metrics now",
        commands=[f"systemctl start {TEXTFILE_UNIT}.service"],
        _if=changed(script, service, timer),
    )
    if host.has(Role.db) and upstream_of(fleet, host) is None:
        monitoring_role()  # a standby cannot create roles; a read replica gets this one from its primary
    if runs_nginx(host):
        apt.packages(name="Install nginx", packages=["nginx"])
        # Debian's welcome page on every address is nobody's site (the lb and edge roles bring theirs).
        default_site = files.link(
            name="Remove nginx's default site", path="/etc/nginx/sites-enabled/default", present=False
        )
        (metrics,) = put_files([nginx_metrics_file(host)])
        server.shell(name="Check the nginx configuration", commands=["nginx -t -q"], _if=changed(metrics, default_site))
        service_running(
            "nginx",
            restart_when=changed(metrics, default_site),
            reload_instead=True,
            inputs=[NGINX_METRICS_CONFIGURATION],
        )
    if any(exporter.package == "prometheus-redis-exporter" for exporter in rendered):
        files.directory(name="Create redis_exporter's directory", path=REDIS_PASSWORDS.rsplit("/", 1)[0], mode="755")
    for exporter in current_host.loop(rendered):  # a loop of operations: pyinfra orders it per host
        uploaded = put_files(exporter.files)
        service_running(exporter.service, restart_when=changed(uploaded), inputs=[item.path for item in exporter.files])


# The service behind each metrics job (streaming's /metrics is served by the streaming units).
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


def services(endpoints: list[MetricsEndpoint]) -> list[str]:
    """The service behind each metrics endpoint of the host, Mastodon's exporter and Prometheus included."""
    return [METRICS_SERVICES[item.job] for item in endpoints if item.job in METRICS_SERVICES]


def component(metrics_of: MetricsOf) -> Component:
    """The exporters of what `metrics_of` says the roles of a host expose (the registry's gathering)."""

    def files(fleet: Fleet, host: Host, secrets: SecretValues) -> list[ConfigFile]:
        return files_for(fleet, host, secrets, metrics_of(fleet, host))

    def openings(fleet: Fleet, host: Host) -> list[Opening]:
        return firewall_rules(fleet, metrics_of(fleet, host))

    def services_of(fleet: Fleet, host: Host) -> list[str]:
        return services(metrics_of(fleet, host))

    def periphery(run: Run) -> None:
        if run.fleet.monitor_host and in_service(run.host):
            exporters(run.fleet, run.host, run.secrets, metrics_of(run.fleet, run.host))

    return Component(
        name="exporters",
        applies=everywhere,
        files=files,
        openings=openings,
        services=services_of,
        steps={Stage.PERIPHERY: periphery},
    )
