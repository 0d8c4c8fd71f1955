"""PostgreSQL on the db host: Debian's server, tuned from the model, open only to the app hosts."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import asdict, dataclass

from pyinfra import host as current_host
from pyinfra.api import FactBase, HiddenValue, QuoteString, StringCommand
from pyinfra.operations import apt, postgres, server

from mastofleet.deploys import standby
from mastofleet.deploys.component import Component, Run, Stage, with_role
from mastofleet.deploys.operations import changed, put_files, role_deploy, service_running
from mastofleet.deploys.postgres_cluster import cluster_service as cluster_service
from mastofleet.deploys.postgres_cluster import configuration_directory as configuration_directory
from mastofleet.deploys.postgres_cluster import hba_path as hba_path
from mastofleet.model import Fleet, Host, Postgres, Role
from mastofleet.model.secrets_reference import secret_name
from mastofleet.quoting import shell, sql_identifier, sql_literal
from mastofleet.views.config_file import ConfigFile, SecretValues
from mastofleet.views.metrics_endpoints import postgres_endpoints
from mastofleet.views.openings import Opening, from_roles
from mastofleet.views.replication import SLOT_PREFIX, replica_slots, upstream_of
from mastofleet.views.templating import render

SCRAM_ITERATIONS = 4096


@dataclass(frozen=True)
class Tuning:
    """pgtune's rules for a web application, from memory and CPUs."""

    shared_buffers_mb: int
    effective_cache_size_mb: int
    maintenance_work_mem_mb: int
    work_mem_kb: int
    random_page_cost: float
    effective_io_concurrency: int
    parallel_per_gather: int


def tuning(settings: Postgres) -> Tuning:
    memory = settings.memory_mb
    shared_buffers = memory // 4
    parallel = max(1, min(4, settings.cpus // 2))
    work_mem = (memory - shared_buffers) * 1024 // (settings.max_connections * 3) // parallel
    return Tuning(
        shared_buffers_mb=shared_buffers,
        effective_cache_size_mb=memory * 3 // 4,
        maintenance_work_mem_mb=min(memory // 16, 2048),
        work_mem_kb=max(work_mem, 64),
        random_page_cost=1.1 if settings.storage == "ssd" else 4.0,
        effective_io_concurrency=200 if settings.storage == "ssd" else 2,
        parallel_per_gather=parallel,
    )


def admitted_hosts(fleet: Fleet, kept: frozenset[str] = frozenset()) -> list[Host]:
    """Who may log in over the network: the app hosts, and retired hosts kept until they stop."""
    return [host for host in fleet.hosts if host.has(Role.app) or (host.has(Role.retired) and host.name in kept)]


def settings_path(settings: Postgres) -> str:
    return f"{configuration_directory(settings)}/conf.d/50-mastofleet.conf"


def files_for(fleet: Fleet, host: Host, secrets: SecretValues, kept: frozenset[str] = frozenset()) -> list[ConfigFile]:
    settings = fleet.postgres
    context = {
        "fleet": fleet,
        "host": host,
        "postgres": settings,
        "app_hosts": admitted_hosts(fleet, kept),
        "replicas": streams_to(fleet, host),
        "replication": fleet.replication,
    }
    return [
        ConfigFile(
            settings_path(settings),
            render("postgres/mastofleet.conf.j2", tuning=asdict(tuning(settings)), **context),
            user="postgres",
            group="postgres",
        ),
        ConfigFile(
            hba_path(settings),
            render("postgres/pg_hba.conf.j2", **context),
            mode="640",
            user="postgres",
            group="postgres",
        ),
    ]


def streams_to(fleet: Fleet, host: Host) -> list[Host]:
    """The replicas that stream from `host`: the db_replica hosts, when `host` is the fleet's primary."""
    if not host.has(Role.db) or upstream_of(fleet, host) is not None:
        return []
    return fleet.replica_hosts


def scram_verifier(user: str, password: str) -> str:
    """The SCRAM-SHA-256 verifier Postgres stores for a password, with a salt derived from both,
    so the same password gives the same verifier and a rerun changes nothing."""
    salt = hmac.new(password.encode(), f"mastofleet:{user}".encode(), hashlib.sha256).digest()[:16]
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, SCRAM_ITERATIONS)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def encode(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return f"SCRAM-SHA-256${SCRAM_ITERATIONS}:{encode(salt)}${encode(stored_key)}:{encode(server_key)}"


class RolePassword(FactBase[str | None]):
    """The stored password verifier of a Postgres role (empty when the role has none)."""

    def requires_command(self, *args: object, **kwargs: object) -> str:
        return "psql"

    def command(self, role: str) -> str:
        return f"psql -tAc \"SELECT rolpassword FROM pg_authid WHERE rolname = '{role}'\""

    def process(self, output: list[str]) -> str | None:
        return output[0].strip() if output else None


def set_role_password(role: str, password: str) -> None:
    """Give a role its password as a SCRAM verifier: only when it differs, never shown in logs."""
    if not password.isascii():
        # libpq applies SASLprep to non-ASCII passwords; our verifier does not, so refuse them.
        raise ValueError(f"the password of the {role} role must be ASCII (mastofleet secrets init makes such)")
    verifier = scram_verifier(role, password)
    present = current_host.get_fact(RolePassword, role=role, _sudo=True, _sudo_user="postgres")
    if present == verifier:
        return
    server.shell(
        name=f"Set the password of the {role} role (not shown)",
        commands=[
            StringCommand(  # type: ignore[list-item]  # pyinfra runs a StringCommand (masked); typed as str
                "psql",
                "-qc",
                QuoteString(
                    StringCommand(
                        f"ALTER ROLE {sql_identifier(role)} PASSWORD", "'", HiddenValue(verifier), "'", _separator=""
                    )
                ),
            )
        ],
        _sudo=True,
        _sudo_user="postgres",
    )


def firewall_rules(fleet: Fleet, host: Host) -> list[Opening]:
    # The app hosts (migrations go straight to PostgreSQL), retired ones until pg_hba lets them go,
    # and the read replicas streaming from the primary.
    sources = from_roles(fleet, Role.app, Role.retired) + from_roles(fleet, Role.db_replica, but=host)
    return [Opening("postgresql", fleet.postgres.port, sources)]


@role_deploy("PostgreSQL")
def postgresql(fleet: Fleet, host: Host, secrets: SecretValues, kept: frozenset[str] = frozenset()) -> None:
    """
    Install Debian's PostgreSQL, tune it from the model's memory and CPUs, listen on loopback and the
    private address, accept only scram-sha-256 logins from the fleet's app hosts, and create the
    Mastodon role and database. A primary with read replicas also gets the replication role, a
    `hostssl replication` line per replica and no slot of a replica the model no longer has. A host
    with an upstream (a db_replica, or the db host while the database migrates) is instead built
    as a hot standby of it: roles and databases come from the upstream.
    """
    settings = fleet.postgres
    upstream = upstream_of(fleet, host)
    if upstream is None:
        standby.refuse_a_standby_as_primary(fleet, host)
    apt.packages(name="Install PostgreSQL", packages=[f"postgresql-{settings.version}"])
    uploaded = put_files(files_for(fleet, host, secrets, kept))
    tuned, access = uploaded.of(settings_path(settings)), uploaded.of(hba_path(settings))
    cluster = cluster_service(settings)
    # listen_addresses and shared_buffers take a restart; pg_hba only a reload.
    service_running(cluster, restart_when=changed(tuned), inputs=[settings_path(settings)])
    service_running(cluster, restart_when=changed(access), reload_instead=True, inputs=[hba_path(settings)])
    if upstream is not None:
        standby.follow(fleet, host, secrets, upstream)
        return
    standby.stop_following(settings)
    create_role_and_database(fleet, secrets)
    if fleet.replica_hosts:
        replication = fleet.replication
        login_role(
            f"Create the {replication.user} role (replication only)",
            replication.user,
            secrets[secret_name(replication.password)],
            replication=True,
        )
    drop_stale_slots(fleet)


def login_role(title: str, role: str, password: str, createdb: bool = False, replication: bool = False) -> None:
    """A role that logs in with ``password`` (given only when it differs: see set_role_password)."""
    postgres.role(
        name=title,
        role=role,
        login=True,
        createdb=createdb,
        replication=replication,
        _sudo=True,
        _sudo_user="postgres",
    )
    set_role_password(role, password)


def create_role_and_database(fleet: Fleet, secrets: SecretValues) -> None:
    settings = fleet.postgres
    login_role(
        f"Create the {settings.user} role", settings.user, secrets[secret_name(settings.password)], createdb=True
    )
    postgres.database(
        name=f"Create the {settings.database} database",
        database=settings.database,
        owner=settings.user,
        encoding="UTF8",
        _sudo=True,
        _sudo_user="postgres",
    )


class ReplicaSlots(FactBase[list[str]]):
    """The replication slots mastofleet made on this primary (one per replica it has had)."""

    def requires_command(self, *args: object, **kwargs: object) -> str:
        return "psql"

    def command(self) -> str:
        return f"psql -XtAc \"SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE '{SLOT_PREFIX}%'\""

    def process(self, output: list[str]) -> list[str]:
        return sorted(line.strip() for line in output if line.strip())


def drop_stale_slots(fleet: Fleet) -> None:
    """A slot whose replica left the model would keep WAL on this host forever: end its walsender, drop it."""
    present = current_host.get_fact(ReplicaSlots, _sudo=True, _sudo_user="postgres") or []
    for slot in sorted(set(present) - set(replica_slots(fleet))):
        named = f"slot_name = {sql_literal(slot)}"
        terminate = f"SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE {named} AND active_pid IS NOT NULL"
        drop = f"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE {named}"
        left = f"SELECT 1 FROM pg_replication_slots WHERE {named}"
        server.shell(
            name=f"Drop the replication slot {slot} (its replica is no longer in the fleet)",
            commands=[
                f"psql -XqAtc {shell(terminate)} >/dev/null"
                f" && for attempt in 1 2 3 4 5 6 7 8 9 10; do psql -XqAtc {shell(drop)} >/dev/null && break; sleep 1; done"
                f" && ! psql -XtAc {shell(left)} | grep -q 1"
            ],
            _sudo=True,
            _sudo_user="postgres",
        )


class ListedHosts(FactBase[frozenset[str]]):
    """Host names a rendered allow-list names (its lines end in `# <host>`)."""

    def command(self, path: str) -> str:
        return f"grep -oE '# [a-z0-9-]+$' {path} 2>/dev/null || true"

    def process(self, output: list[str]) -> frozenset[str]:
        return frozenset(line[2:].strip() for line in output if line.startswith("# "))


def still_allowed(fleet: Fleet) -> frozenset[str]:
    """Retired hosts the db host's pg_hba still admits: they keep access until their processes stop."""
    listed = current_host.get_fact(ListedHosts, path=hba_path(fleet.postgres)) or frozenset()
    return frozenset(host.name for host in fleet.with_role(Role.retired)) & listed


def _database(run: Run) -> None:
    # Read before anything changes: the disk is healthy, and which retired hosts pg_hba still admits.
    run.check_disk()
    run.kept = still_allowed(run.fleet)
    if run.host.has(Role.db):
        postgresql(run.fleet, run.host, run.secrets, run.kept)  # a db_replica's comes with its own role


def _services(fleet: Fleet, host: Host) -> list[str]:
    return [f"{cluster_service(fleet.postgres)}.service"]


def _files(fleet: Fleet, host: Host, secrets: SecretValues) -> list[ConfigFile]:
    return files_for(fleet, host, secrets)


COMPONENT = Component(
    name="postgres",
    applies=with_role(Role.db, Role.db_replica),
    files=_files,
    openings=firewall_rules,
    services=_services,
    steps={Stage.DATABASE: _database},
    metrics=postgres_endpoints,
)
