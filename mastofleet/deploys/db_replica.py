"""The db_replica role: a hot standby of the fleet's primary that serves the app's reads.

PostgreSQL is the db role's (same tuning, same pg_hba for the app hosts), built as a streaming
replica by the shared standby piece; PgBouncer, when enabled, pools the reads as it pools the
primary's. The app finds it through REPLICA_DB_* in `.env.production`.
"""

from __future__ import annotations

from mastofleet.deploys import pgbouncer, postgres, standby
from mastofleet.deploys.component import Component, Run, Stage, with_role
from mastofleet.deploys.operations import role_deploy
from mastofleet.model import Fleet, Host, Role
from mastofleet.views.config_file import ConfigFile, SecretValues


def files_for(fleet: Fleet, host: Host, secrets: SecretValues, kept: frozenset[str] = frozenset()) -> list[ConfigFile]:
    rendered = postgres.files_for(fleet, host, secrets, kept) + standby.files_for(fleet, host, secrets)
    if fleet.pgbouncer.enabled:
        rendered += pgbouncer.files_for(fleet, host, secrets, kept)
    return rendered


@role_deploy("PostgreSQL read replica")
def db_replica(fleet: Fleet, host: Host, secrets: SecretValues, kept: frozenset[str] = frozenset()) -> None:
    """
    Install PostgreSQL as on the primary, build it once as a streaming replica of the fleet's
    primary (pg_basebackup over TLS into a replication slot named after this host) and keep it a
    hot standby; put PgBouncer in front when the fleet uses it. `kept`: retired hosts its pg_hba
    still admits until their processes stop, as on the primary.
    """
    postgres.postgresql(fleet, host, secrets, kept)
    if fleet.pgbouncer.enabled:
        pgbouncer.pgbouncer(fleet, host, secrets, kept)


def _database(run: Run) -> None:
    db_replica(run.fleet, run.host, run.secrets, run.kept)


# Its files, openings and services are the postgres, standby and pgbouncer components' (they apply
# to db_replica hosts too); `files_for` lists them for the testinfra checks.
COMPONENT = Component(name="db_replica", applies=with_role(Role.db_replica), steps={Stage.DATABASE: _database})
