"""Retiring an app host: the inventory moves it from `app` to `retired`, and one deploy takes it out.

In order: nginx stops sending it anything (its site variants no longer list it, reloaded before the
rollout's turns); after the turns it stops and disables its Mastodon processes (Sidekiq hands its
unfinished jobs back to Redis); only then do PostgreSQL and PgBouncer drop it from pg_hba. Until
that last step, a retired host stays in the allow-lists it is still in, so its processes never lose
the database while they run.
"""

from __future__ import annotations

from pyinfra import host as current_host
from pyinfra.api import FactBase, operation

from mastofleet.deploys import firewall, pgbouncer, postgres
from mastofleet.deploys.component import Component, OpeningsOf, Run, Stage, everywhere
from mastofleet.deploys.operations import changed, every_host_reached, put_files, restart_service, role_deploy
from mastofleet.deploys.units import SYSTEMD_DIRECTORY
from mastofleet.model import Fleet, Host, Role
from mastofleet.views.config_file import ConfigFile, SecretValues
from mastofleet.views.openings import Opening


@operation()
def stop_mastodon_units(units: list[str]):
    """
    Stop, disable and delete Mastodon's units on a retired host (none elsewhere).

    + units: unit files found on this host; empty on every other host
    """
    if units:
        names = " ".join(path.rsplit("/", 1)[-1] for path in units)
        yield (
            "systemctl disable --now $(systemctl list-units --plain --no-legend 'mastodon-*' | awk '{print $1}')"
            f" {names} && rm -f {' '.join(units)} && systemctl daemon-reload"
            # a unit that failed while stopping would stay listed until its failure is forgotten
            " && { systemctl reset-failed 'mastodon-*' || true; }"
        )


@role_deploy("Retire app hosts")
def retire(fleet: Fleet, host: Host, secrets: SecretValues, kept: frozenset[str], openings: list[Opening]) -> None:
    """
    On retired hosts, stop the Mastodon processes; then close every other host's firewall to them
    (`openings`: what the host's roles open) and, on the db host, drop the retired hosts from
    PostgreSQL's and PgBouncer's pg_hba (`kept`: those still in them).
    """
    units: list[str] = []
    if host.has(Role.retired):
        found: list[str] | None = current_host.get_fact(FindUnits, path=SYSTEMD_DIRECTORY)
        units = sorted(found or [])
    stop_mastodon_units(name="Stop the Mastodon processes of retired hosts", units=units)
    every_host_reached(name="Every retired host has stopped", point="retired hosts stopped")
    if not host.has(Role.retired):
        firewall.close_to_retired(fleet, host, openings)
    if host.has(Role.db) and kept:
        settings = fleet.postgres
        (access,) = put_files(_only(postgres.files_for(fleet, host, secrets), postgres.hba_path(settings)))
        restart_service(postgres.cluster_service(settings), changed(access), reload_instead=True)
        if fleet.pgbouncer.enabled:
            bouncer_files = pgbouncer.files_for(fleet, host, secrets)
            (bouncer_access,) = put_files(_only(bouncer_files, pgbouncer.HBA_FILE))
            restart_service("pgbouncer", changed(bouncer_access), reload_instead=True)


def _only(rendered: list[ConfigFile], path: str) -> list[ConfigFile]:
    return [item for item in rendered if item.path == path]


class FindUnits(FactBase[list[str]]):
    """Mastodon's unit files in a directory."""

    def command(self, path: str) -> str:
        return f"find {path} -maxdepth 1 -name 'mastodon-*.service' 2>/dev/null || true"

    def process(self, output: list[str]) -> list[str]:
        return [line.strip() for line in output if line.strip()]


def component(openings_of: OpeningsOf) -> Component:
    """The retirement, closing firewalls with what `openings_of` says the host's roles open."""

    def retire_step(run: Run) -> None:
        retire(run.fleet, run.host, run.secrets, run.kept, openings_of(run.fleet, run.host))

    return Component(name="retirement", applies=everywhere, steps={Stage.RETIRE: retire_step})
