"""Puma web on app hosts: `mastodon-web.service`, bound to the private address."""

from __future__ import annotations

from mastofleet.deploys.component import Component, Run, Stage, with_role
from mastofleet.deploys.mastodon import Application
from mastofleet.deploys.operations import put_files, role_deploy
from mastofleet.deploys.units import SYSTEMD_DIRECTORY, PendingRestart, start_units, unit_context
from mastofleet.model import Fleet, Host, Role
from mastofleet.views.config_file import ConfigFile, SecretValues
from mastofleet.views.openings import Opening, from_roles
from mastofleet.views.templating import render

SERVICE = "mastodon-web.service"


def files_for(fleet: Fleet, host: Host, secrets: SecretValues) -> list[ConfigFile]:
    if host.web is None:
        return []
    return [
        ConfigFile(
            f"{SYSTEMD_DIRECTORY}/{SERVICE}",
            render("systemd/mastodon-web.service.j2", **unit_context(fleet, host, web=host.web)),
        )
    ]


def firewall_rules(fleet: Fleet, host: Host) -> list[Opening]:
    if host.web is None:
        return []
    return [Opening("puma", host.web.port, from_roles(fleet, Role.lb, Role.edge))]


@role_deploy("Mastodon web")
def web(fleet: Fleet, host: Host, application: Application) -> list[PendingRestart]:
    """
    Run Puma with WEB_CONCURRENCY processes x MAX_THREADS threads from the model, on the host's
    private address (nginx on lb reaches it there). The restart a new release or configuration
    needs is returned, for the rollout to do while this host is out of the balancer.
    """
    rendered = files_for(fleet, host, SecretValues())
    units = put_files(rendered)
    return start_units([SERVICE], units, [item.path for item in rendered], application)


def _start(run: Run) -> None:
    if run.host.web:
        assert run.application is not None
        run.pending += web(run.fleet, run.host, run.application)


COMPONENT = Component(
    name="web",
    applies=with_role(Role.app),
    files=files_for,
    openings=firewall_rules,
    services=lambda fleet, host: [SERVICE] if host.web else [],
    steps={Stage.START: _start},
)
