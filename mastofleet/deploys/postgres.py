"""PostgreSQL on the db host: Debian's server, tuned from the model, open only to the app hosts."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import asdict, dataclass

from pyinfra import host as current_host
from pyinfra.api import FactBase, HiddenValue, QuoteString, StringCommand, deploy
from pyinfra.operations import apt, postgres, server

from mastofleet.files import ConfigFile, SecretValues
from mastofleet.firewall import Opening, from_roles
from mastofleet.model import Fleet, Host, Postgres, Role
from mastofleet.operations import changed, put_files, service_running
from mastofleet.secrets_reference import secret_name
from mastofleet.templating import render

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


def configuration_directory(settings: Postgres) -> str:
    return f"/etc/postgresql/{settings.version}/main"


def hba_path(settings: Postgres) -> str:
    return f"{configuration_directory(settings)}/pg_hba.conf"


def cluster_service(settings: Postgres) -> str:
    return f"postgresql@{settings.version}-main"


def admitted_hosts(fleet: Fleet, kept: frozenset[str] = frozenset()) -> list[Host]:
    """Who may log in over the network: the app hosts, and retired hosts kept until they stop."""
    return [host for host in fleet.hosts if host.has(Role.app) or (host.has(Role.retired) and host.name in kept)]


def files_for(fleet: Fleet, host: Host, secrets: SecretValues, kept: frozenset[str] = frozenset()) -> list[ConfigFile]:
    settings = fleet.postgres
    directory = configuration_directory(settings)
    context = {"fleet": fleet, "host": host, "postgres": settings, "app_hosts": admitted_hosts(fleet, kept)}
    return [
        ConfigFile(
            f"{directory}/conf.d/50-mastofleet.conf",
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
            StringCommand(
                "psql",
                "-qc",
                QuoteString(
                    StringCommand(f"ALTER ROLE {role} PASSWORD", "'", HiddenValue(verifier), "'", _separator="")
                ),
            )
        ],
        _sudo=True,
        _sudo_user="postgres",
    )


def firewall_rules(fleet: Fleet, host: Host) -> list[Opening]:
    # The app hosts (migrations go straight to PostgreSQL), and retired ones until pg_hba lets them go.
    return [Opening("postgresql", fleet.postgres.port, from_roles(fleet, Role.app, Role.retired))]


@deploy("PostgreSQL")
def postgresql(fleet: Fleet, host: Host, secrets: SecretValues, kept: frozenset[str] = frozenset()) -> None:
    """
    Install Debian's PostgreSQL, tune it from the model's memory and CPUs, listen on loopback and the
    private address, accept only scram-sha-256 logins from the fleet's app hosts, and create the
    Mastodon role and database.
    """
    settings = fleet.postgres
    apt.packages(name="Install PostgreSQL", packages=[f"postgresql-{settings.version}"])
    rendered = files_for(fleet, host, secrets, kept)
    tuned, access = put_files(rendered)
    cluster = cluster_service(settings)
    # listen_addresses and shared_buffers take a restart; pg_hba only a reload.
    service_running(cluster, restart_when=changed(tuned), inputs=[rendered[0].path])
    service_running(cluster, restart_when=changed(access), reload_instead=True, inputs=[rendered[1].path])
    postgres.role(
        name=f"Create the {settings.user} role",
        role=settings.user,
        login=True,
        createdb=True,
        _sudo=True,
        _sudo_user="postgres",
    )
    set_role_password(settings.user, secrets[secret_name(settings.password)])
    postgres.database(
        name=f"Create the {settings.database} database",
        database=settings.database,
        owner=settings.user,
        encoding="UTF8",
        _sudo=True,
        _sudo_user="postgres",
    )
