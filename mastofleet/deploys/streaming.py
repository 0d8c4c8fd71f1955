"""The streaming API on app hosts: `mastodon-streaming@PORT` instances under one group unit."""

from __future__ import annotations

from mastofleet.deploys.component import Component, Run, Stage, with_role
from mastofleet.deploys.mastodon import Application, shared_environment_path, shared_streaming_code_path
from mastofleet.deploys.operations import changed, enable_service, put_files, restart_needed, role_deploy, stale_check
from mastofleet.deploys.units import SYSTEMD_DIRECTORY, PendingRestart, unit_context
from mastofleet.model import Fleet, Host, Role
from mastofleet.views.config_file import ConfigFile, SecretValues
from mastofleet.views.metrics_endpoints import streaming_endpoints
from mastofleet.views.openings import Opening, from_roles
from mastofleet.views.templating import render


def instance_service(port: int) -> str:
    return f"mastodon-streaming@{port}.service"


def services(fleet: Fleet, host: Host) -> list[str]:
    return [instance_service(port) for port in host.streaming.ports] if host.streaming else []


def files_for(fleet: Fleet, host: Host, secrets: SecretValues) -> list[ConfigFile]:
    if host.streaming is None:
        return []
    context = unit_context(fleet, host, streaming=host.streaming, streaming_unit=True)
    return [
        ConfigFile(
            f"{SYSTEMD_DIRECTORY}/mastodon-streaming@.service",
            render("systemd/mastodon-streaming@.service.j2", **context),
        ),
        ConfigFile(
            f"{SYSTEMD_DIRECTORY}/mastodon-streaming.service",
            render("systemd/mastodon-streaming.service.j2", **context),
        ),
    ]


def firewall_rules(fleet: Fleet, host: Host) -> list[Opening]:
    if host.streaming is None:
        return []
    sources = from_roles(fleet, Role.lb, Role.edge)
    return [Opening(f"streaming@{port}", port, sources) for port in host.streaming.ports]


@role_deploy("Mastodon streaming")
def streaming(fleet: Fleet, host: Host, application: Application) -> list[PendingRestart]:
    """
    One `mastodon-streaming@PORT` unit per port of the model (nginx balances them with least_conn),
    grouped under `mastodon-streaming.service` so they start and stop together.

    A restart drops every WebSocket of the instance, so it is owed only when a unit, the
    configuration or the streaming code itself changed — not for every new release. The restarts
    are returned for the rollout to do while this host is out of the balancer.
    """
    assert host.streaming is not None
    instance = fleet.instance
    rendered = files_for(fleet, host, SecretValues())
    units = put_files(rendered)
    enable_service("mastodon-streaming.service", daemon_reload_when=changed(units))
    code = shared_streaming_code_path(instance)
    inputs = [*(item.path for item in rendered), shared_environment_path(instance), code]
    configuration_changed = changed(units, application.configuration)
    switched = changed([application.switch] if application.switch else [])
    pending = []
    for port in host.streaming.ports:
        service = instance_service(port)
        enable_service(service)
        owed = restart_needed(service, configuration_changed, inputs)
        pending.append(PendingRestart(service, owed))
        # `live` moved: restart only if the streaming code it runs is newer than the process.
        pending.append(PendingRestart(service, switched, only_if=stale_check(service, [code])))
    return pending


def _start(run: Run) -> None:
    if run.host.streaming:
        assert run.application is not None
        run.pending += streaming(run.fleet, run.host, run.application)


COMPONENT = Component(
    name="streaming",
    applies=with_role(Role.app),
    files=files_for,
    openings=firewall_rules,
    services=services,
    steps={Stage.START: _start},
    metrics=streaming_endpoints,
)
