"""Sidekiq on app hosts: one unit per process of the model, with its queues, threads and DB_POOL."""

from __future__ import annotations

from pyinfra import host as current_host
from pyinfra.facts.files import FindFiles
from pyinfra.operations import files, systemd

from mastofleet.deploys.component import Component, Run, Stage, with_role
from mastofleet.deploys.mastodon import Application
from mastofleet.deploys.operations import put_files, role_deploy
from mastofleet.deploys.units import SYSTEMD_DIRECTORY, run_units, unit_context
from mastofleet.model import Fleet, Host, Role
from mastofleet.views.config_file import ConfigFile, SecretValues
from mastofleet.views.templating import render


def files_for(fleet: Fleet, host: Host, secrets: SecretValues) -> list[ConfigFile]:
    return [
        ConfigFile(
            f"{SYSTEMD_DIRECTORY}/{process.unit}",
            render("systemd/mastodon-sidekiq.service.j2", **unit_context(fleet, host, process=process)),
        )
        for process in host.sidekiq
    ]


def remove_stale_units(host: Host) -> None:
    """Stop and delete Sidekiq units the model no longer has (a process moved or was removed)."""
    wanted = {process.unit for process in host.sidekiq}
    present = current_host.get_fact(FindFiles, path=SYSTEMD_DIRECTORY, fname="mastodon-sidekiq-*.service") or []
    stale = sorted(path for path in present if path.rsplit("/", 1)[-1] not in wanted)
    for path in stale:
        unit = path.rsplit("/", 1)[-1]
        systemd.service(name=f"Stop {unit} (no longer in the model)", service=unit, running=False, enabled=False)
        files.file(name=f"Remove {unit}", path=path, present=False)
    if stale:
        systemd.daemon_reload(name="Reload systemd units after removing Sidekiq units")


@role_deploy("Mastodon Sidekiq")
def sidekiq(fleet: Fleet, host: Host, application: Application) -> None:
    """
    Run each Sidekiq process the model gives this host as `mastodon-sidekiq-<name>.service` with its
    `-c` threads, `-q queue,weight` list and DB_POOL; processes no longer in the model are stopped.
    """
    remove_stale_units(host)
    rendered = files_for(fleet, host, SecretValues())
    units = put_files(rendered)
    for process, unit, config_file in zip(host.sidekiq, units, rendered, strict=True):
        run_units([process.unit], [unit], [config_file.path], application)


def _start(run: Run) -> None:
    assert run.application is not None
    sidekiq(run.fleet, run.host, run.application)


COMPONENT = Component(
    name="sidekiq",
    applies=with_role(Role.app),
    files=files_for,
    services=lambda fleet, host: [process.unit for process in host.sidekiq],
    steps={Stage.START: _start},
)
