"""A PostgreSQL hot standby streaming from an upstream primary: the one replica-building piece.

Both the db_replica role (upstream: the fleet's primary) and the db host in migration mode
(upstream: the old primary outside the fleet) use it. The standby logs in as a replication role
with scram-sha-256 over TLS (`sslmode=require`), holds a physical replication slot on the upstream
(so WAL is kept until the standby has it), and is built once by `pg_basebackup` through a script
the deploy renders. The password lives only in a passfile (mode 0600, uploaded by checksum): it is
never on a command line, in the rendered configuration or in a log.
"""

from __future__ import annotations

from pyinfra import host as current_host
from pyinfra.api import FactBase, operation
from pyinfra.api.exceptions import DeployError
from pyinfra.operations import files, server

from mastofleet.deploys import postgres_cluster as postgres_role
from mastofleet.deploys.component import Component, Run, Stage, with_role
from mastofleet.deploys.operations import changed, put_files, service_running
from mastofleet.deploys.postgres_cluster import data_directory as data_directory
from mastofleet.model import Fleet, Host, Postgres, Role
from mastofleet.model.secrets_reference import secret_name
from mastofleet.quoting import shell
from mastofleet.views.config_file import ConfigFile, SecretValues
from mastofleet.views.replication import Upstream, upstream_of
from mastofleet.views.templating import render

PASSFILE = "/var/lib/postgresql/.mastofleet-upstream.pgpass"
BUILD_SCRIPT = "/usr/local/sbin/mastofleet-build-standby"
STATUS_FILE = "/var/lib/postgresql/mastofleet-standby.json"  # the last build: upstream, bytes, time
STANDBY = "standby-of-upstream"


def configuration_path(settings: Postgres) -> str:
    return f"{postgres_role.configuration_directory(settings)}/conf.d/60-mastofleet-standby.conf"


def upstream_conninfo(upstream: Upstream) -> str:
    """libpq's connection string to the upstream; the password comes from the passfile."""
    return (
        f"host={upstream.address} port={upstream.port} user={upstream.user} passfile={PASSFILE}"
        " sslmode=require connect_timeout=10"
    )


def passfile_field(text: str) -> str:
    """A .pgpass field: backslash and colon escaped."""
    return text.replace("\\", "\\\\").replace(":", "\\:")


def may_replace_data(fleet: Fleet, host: Host) -> bool:
    """A read replica is a copy and may always be rebuilt; the db host's data only when the operator says so."""
    if host.has(Role.db_replica):
        return True
    return fleet.database_migration is not None and fleet.database_migration.replace_target_data


def files_for(fleet: Fleet, host: Host, secrets: SecretValues) -> list[ConfigFile]:
    upstream = upstream_of(fleet, host)
    if upstream is None:
        return []
    settings = fleet.postgres
    context = {
        "host": host,
        "upstream": upstream,
        "passfile": PASSFILE,
        "version": settings.version,
        "data_directory": data_directory(settings),
        "database": settings.database,
        "status_file": STATUS_FILE,
        "replace_data": may_replace_data(fleet, host),
    }
    password = passfile_field(secrets[secret_name(upstream.password)])
    return [
        ConfigFile(
            configuration_path(settings),
            render("standby/standby.conf.j2", **context),
            user="postgres",
            group="postgres",
        ),
        ConfigFile(
            PASSFILE,
            render("standby/upstream.pgpass.j2", password=password, **context),
            mode="600",
            user="postgres",
            group="postgres",
            sensitive=True,
        ),
        ConfigFile(BUILD_SCRIPT, render("standby/build-standby.sh.j2", **context), mode="755"),
    ]


class StandbyOfUpstream(FactBase[bool]):
    """True when the local cluster is a standby whose system identifier is the upstream's."""

    def command(self, version: int, data: str, conninfo: str) -> str:
        return (
            f"if [ -f {data}/standby.signal ]; then"
            f" here=$(/usr/lib/postgresql/{version}/bin/pg_controldata {data} 2>/dev/null"
            " | sed -n 's/^Database system identifier: *//p');"
            f" there=$(runuser -u postgres -- /usr/lib/postgresql/{version}/bin/psql -w -XtA -c IDENTIFY_SYSTEM"
            f" '{conninfo} replication=true' 2>/dev/null | cut -d'|' -f1);"
            f' if [ -n "$there" ] && [ "$here" = "$there" ]; then echo {STANDBY}; fi; fi; echo checked'
        )

    def process(self, output: list[str]) -> bool:
        return STANDBY in (line.strip() for line in output)


class UserTables(FactBase[int]):
    """How many tables the database holds, when the local cluster is a primary (0 for a standby)."""

    def command(self, version: int, data: str, database: str) -> str:
        psql = f"runuser -u postgres -- /usr/lib/postgresql/{version}/bin/psql -XtA"
        return (
            f'if [ ! -f {data}/standby.signal ] && [ -n "$({psql} -c "SELECT 1 FROM pg_database'
            f' WHERE datname = \'{database}\'" postgres 2>/dev/null)" ]; then {psql} -c "SELECT count(*)'
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r'"
            f" AND n.nspname NOT IN ('pg_catalog', 'information_schema')\" {database}; else echo 0; fi"
        )

    def process(self, output: list[str]) -> int:
        text = "".join(output).strip()
        return int(text) if text.isdigit() else 0


class StandbySignal(FactBase[bool]):
    """True when the local cluster is a standby (its data directory holds standby.signal)."""

    def command(self, data: str) -> str:
        return f"if [ -f {data}/standby.signal ]; then echo standby; else echo primary; fi"

    def process(self, output: list[str]) -> bool:
        return "standby" in (line.strip() for line in output)


def refuse_a_standby_as_primary(fleet: Fleet, host: Host) -> None:
    """The model has this host as the primary but its cluster is a standby: stop before anything changes."""
    if current_host.get_fact(StandbySignal, data=data_directory(fleet.postgres), _sudo=True):
        raise DeployError(
            f"{host.name}: PostgreSQL here is a standby (standby.signal), but the fleet has {host.name} as its"
            " primary, so roles and databases cannot be created. Nothing was changed. If it replicates an old"
            " primary, finish with `mastofleet cutover` (or put database_migration back); otherwise promote it"
            " (SELECT pg_promote()) and deploy again."
        )


def refuse_to_replace_data(fleet: Fleet, host: Host, upstream: Upstream) -> None:
    """Stop before anything changes when the first build would throw away a primary's tables."""
    settings = fleet.postgres
    tables = current_host.get_fact(
        UserTables, version=settings.version, data=data_directory(settings), database=settings.database, _sudo=True
    )
    if tables and not may_replace_data(fleet, host):
        raise DeployError(
            f"{host.name}: {settings.database} holds {tables} tables and is not a replica; mastofleet will not"
            f" replace it with a copy of {upstream.description}. Nothing was changed. Move that database away,"
            " or set database_migration.replace_target_data = true for a rehearsal."
        )


def is_built(fleet: Fleet, upstream: Upstream) -> bool:
    """Read before the run: the local cluster already is a standby of `upstream`."""
    settings = fleet.postgres
    return bool(
        current_host.get_fact(
            StandbyOfUpstream,
            version=settings.version,
            data=data_directory(settings),
            conninfo=upstream_conninfo(upstream),
            _sudo=True,
        )
    )


def follow(fleet: Fleet, host: Host, secrets: SecretValues, upstream: Upstream) -> None:
    """Keep the host's standby settings and passfile, reload when they change; refuse, before
    anything changes, a first build that would throw a primary's tables away. The build itself is
    `build_where_needed`, later in the deploy."""
    if not is_built(fleet, upstream):
        refuse_to_replace_data(fleet, host, upstream)
    uploaded = put_files(files_for(fleet, host, secrets))
    settings = configuration_path(fleet.postgres)
    service_running(
        postgres_role.cluster_service(fleet.postgres),
        restart_when=changed(uploaded.of(settings), uploaded.of(PASSFILE)),
        reload_instead=True,
        inputs=[settings],
    )


@operation()
def build_standby(script: str | None):
    """
    Run the standby build script on this host (nothing on hosts without one).

    + script: the script to run, or None where there is nothing to build
    """
    if script is not None:
        yield script


def build_where_needed(fleet: Fleet, host: Host) -> None:
    """Build the host as a standby of its upstream, once. The primary and its replicas all plan
    this operation at the same point of the deploy: pyinfra waits for every host at an operation
    they share, so a replica is built only after its primary has the replication role and the
    pg_hba line (hosts otherwise run their own operations at their own pace)."""
    upstream = upstream_of(fleet, host)
    needed = upstream is not None and not is_built(fleet, upstream)
    build_standby(
        name="Build streaming replicas that are not built yet (pg_basebackup into a slot, once)",
        script=BUILD_SCRIPT if needed else None,
    )


def stop_following(settings: Postgres) -> None:
    """On a primary (a db host promoted by the cutover): no standby settings, passfile or build script."""
    removed = [
        files.file(name=f"Remove {path} (this host is a primary)", path=path, present=False)
        for path in (configuration_path(settings), PASSFILE, BUILD_SCRIPT)
    ]
    server.shell(
        name=f"Reload {postgres_role.cluster_service(settings)} without the standby settings",
        commands=[f"systemctl reload {shell(postgres_role.cluster_service(settings))}"],
        _if=changed(removed[0]),
    )


def _build(run: Run) -> None:
    build_where_needed(run.fleet, run.host)  # one operation the primary and its replicas share


COMPONENT = Component(
    name="standby",
    applies=with_role(Role.db, Role.db_replica),
    files=files_for,  # a db host while the database migrates; a db_replica
    steps={Stage.DATABASE: _build},
)
