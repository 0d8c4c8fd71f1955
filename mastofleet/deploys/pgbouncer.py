"""PgBouncer on the db host: transaction pooling between the app hosts and PostgreSQL."""

from __future__ import annotations

from pyinfra.operations import apt

from mastofleet.deploys import postgres
from mastofleet.deploys.component import Component, Run, Stage
from mastofleet.deploys.operations import changed, put_files, role_deploy, service_running
from mastofleet.model import Fleet, Host, Role
from mastofleet.model.secrets_reference import secret_name
from mastofleet.views.config_file import ConfigFile, SecretValues
from mastofleet.views.metrics_endpoints import pgbouncer_endpoints
from mastofleet.views.openings import Opening, from_roles
from mastofleet.views.templating import render

SETTINGS_FILE = "/etc/pgbouncer/pgbouncer.ini"
USERS_FILE = "/etc/pgbouncer/userlist.txt"
HBA_FILE = "/etc/pgbouncer/pg_hba.conf"
SERVICE = "pgbouncer.service"


def files_for(fleet: Fleet, host: Host, secrets: SecretValues, kept: frozenset[str] = frozenset()) -> list[ConfigFile]:
    context = {"fleet": fleet, "host": host, "postgres": fleet.postgres, "pgbouncer": fleet.pgbouncer}
    # PgBouncer admits exactly whom PostgreSQL admits.
    (hba,) = [item for item in postgres.files_for(fleet, host, secrets, kept) if item.path == postgres.hba_path(fleet.postgres)]
    return [
        ConfigFile(
            SETTINGS_FILE,
            render("pgbouncer/pgbouncer.ini.j2", **context),
            mode="640",
            user="postgres",
            group="postgres",
        ),
        ConfigFile(
            USERS_FILE,
            render("pgbouncer/userlist.txt.j2", password=secrets[secret_name(fleet.postgres.password)], **context),
            mode="640",
            user="postgres",
            group="postgres",
            sensitive=True,
        ),
        ConfigFile(HBA_FILE, hba.content, mode="640", user="postgres", group="postgres"),
    ]


def firewall_rules(fleet: Fleet, host: Host) -> list[Opening]:
    return [Opening("pgbouncer", fleet.pgbouncer.port, from_roles(fleet, Role.app, Role.retired))]


@role_deploy("PgBouncer")
def pgbouncer(fleet: Fleet, host: Host, secrets: SecretValues, kept: frozenset[str] = frozenset()) -> None:
    """
    Install Debian's PgBouncer in transaction mode on loopback and the private address, with the
    app's login checked by scram-sha-256. Mastodon talks to it with PREPARED_STATEMENTS=false;
    migrations bypass it and go straight to PostgreSQL.
    """
    apt.packages(name="Install PgBouncer", packages=["pgbouncer"])
    uploaded = put_files(files_for(fleet, host, secrets, kept))
    service_running("pgbouncer", restart_when=changed(uploaded.of(SETTINGS_FILE)), inputs=[SETTINGS_FILE])
    service_running(
        "pgbouncer",
        restart_when=changed(uploaded.of(USERS_FILE), uploaded.of(HBA_FILE)),
        reload_instead=True,
        inputs=[USERS_FILE, HBA_FILE],
    )


def _applies(fleet: Fleet, host: Host) -> bool:
    return (host.has(Role.db) or host.has(Role.db_replica)) and fleet.pgbouncer.enabled


def _files(fleet: Fleet, host: Host, secrets: SecretValues) -> list[ConfigFile]:
    return files_for(fleet, host, secrets)


def _database(run: Run) -> None:
    if run.host.has(Role.db):
        pgbouncer(run.fleet, run.host, run.secrets, run.kept)  # a db_replica's comes with its own role


COMPONENT = Component(
    name="pgbouncer",
    applies=_applies,
    files=_files,
    openings=firewall_rules,
    services=lambda fleet, host: [SERVICE],
    steps={Stage.DATABASE: _database},
    metrics=pgbouncer_endpoints,
)
