"""PgBouncer on the db host: transaction pooling between the app hosts and PostgreSQL."""

from __future__ import annotations

from pyinfra.api import deploy
from pyinfra.operations import apt

from mastofleet.deploys import postgres
from mastofleet.files import ConfigFile, SecretValues
from mastofleet.firewall import Opening, from_roles
from mastofleet.model import Fleet, Host, Role
from mastofleet.operations import changed, put_files, service_running
from mastofleet.secrets_reference import secret_name
from mastofleet.templating import render

HBA_FILE = "/etc/pgbouncer/pg_hba.conf"


def files_for(fleet: Fleet, host: Host, secrets: SecretValues, kept: frozenset[str] = frozenset()) -> list[ConfigFile]:
    context = {"fleet": fleet, "host": host, "postgres": fleet.postgres, "pgbouncer": fleet.pgbouncer}
    hba = postgres.files_for(fleet, host, secrets, kept)[1]  # PgBouncer admits exactly whom PostgreSQL admits
    return [
        ConfigFile(
            "/etc/pgbouncer/pgbouncer.ini",
            render("pgbouncer/pgbouncer.ini.j2", **context),
            mode="640",
            user="postgres",
            group="postgres",
        ),
        ConfigFile(
            "/etc/pgbouncer/userlist.txt",
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


@deploy("PgBouncer")
def pgbouncer(fleet: Fleet, host: Host, secrets: SecretValues, kept: frozenset[str] = frozenset()) -> None:
    """
    Install Debian's PgBouncer in transaction mode on loopback and the private address, with the
    app's login checked by scram-sha-256. Mastodon talks to it with PREPARED_STATEMENTS=false;
    migrations bypass it and go straight to PostgreSQL.
    """
    apt.packages(name="Install PgBouncer", packages=["pgbouncer"])
    rendered = files_for(fleet, host, secrets, kept)
    settings, users, hba = put_files(rendered)
    service_running("pgbouncer", restart_when=changed(settings), inputs=[rendered[0].path])
    service_running(
        "pgbouncer", restart_when=changed(users, hba), reload_instead=True, inputs=[item.path for item in rendered[1:]]
    )
