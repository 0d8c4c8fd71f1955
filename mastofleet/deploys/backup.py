"""Backups: pgBackRest from the db host to the backup bucket (continuous WAL archiving, scheduled
full and differential backups, retention), and the Redis dump and secrets file next to them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pyinfra import host as current_host
from pyinfra.api import FactBase
from pyinfra.facts.files import File
from pyinfra.operations import apt, files, server, systemd

from mastofleet.deploys import postgres_cluster
from mastofleet.deploys.component import Component, Run, Stage, with_role
from mastofleet.deploys.operations import changed, put_files, restart_service, role_deploy, sensitive_file
from mastofleet.deploys.units import SYSTEMD_DIRECTORY
from mastofleet.model import Fleet, Host, Role
from mastofleet.model.problems import InventoryError
from mastofleet.model.secrets_reference import secret_name
from mastofleet.quoting import shell
from mastofleet.views.config_file import ConfigFile, SecretValues
from mastofleet.views.templating import render

CONFIG_FILE = "/etc/pgbackrest/pgbackrest.conf"
CA_PATH = "/etc/mastofleet/backup-ca.pem"
RCLONE_ENVIRONMENT = "/etc/mastofleet/backup-files.env"
SECRETS_COPY = "/var/lib/mastofleet/backup/secrets.json"
REDIS_DUMP = "/var/lib/redis/dump.rdb"
KINDS = ("full", "diff")
BACKUP_UNIT = "mastofleet-backup@.service"
FILES_UNIT = "mastofleet-backup-files.service"


@dataclass(frozen=True)
class S3Endpoint:
    """Where the backup bucket's store answers: https://HOST[:PORT]."""

    url: str
    host: str
    port: int | None

    @property
    def path_style(self) -> bool:
        """A store addressed by IP has no per-bucket host names."""
        return self.host.replace(".", "").isdigit()


def endpoint(fleet: Fleet) -> S3Endpoint:
    backup = fleet.backup
    assert backup is not None
    url = backup.endpoint or (fleet.object_storage.endpoint if fleet.object_storage else "")
    authority = url.split("://", 1)[-1].split("/", 1)[0]
    host, _, port = authority.partition(":")
    return S3Endpoint(url.rstrip("/"), host, int(port) if port else None)


def region(fleet: Fleet) -> str:
    assert fleet.backup is not None
    return fleet.backup.region or (fleet.object_storage.region if fleet.object_storage else "")


def stanza(fleet: Fleet) -> str:
    return fleet.name


def data_directory(fleet: Fleet) -> str:
    return postgres_cluster.data_directory(fleet.postgres)


def ca_certificate(fleet: Fleet) -> str | None:
    """The CA certificate of a private endpoint, read on the operator's machine."""
    assert fleet.backup is not None
    if fleet.backup.ca_file is None:
        return None
    try:
        return Path(fleet.backup.ca_file).read_text()
    except OSError as error:
        raise InventoryError(
            f"backup.ca_file: cannot read {fleet.backup.ca_file} ({error.strerror}); give the CA certificate's path"
        ) from None


def _context(fleet: Fleet, secrets: SecretValues) -> dict:
    backup = fleet.backup
    assert backup is not None
    s3 = endpoint(fleet)
    return {
        "fleet": fleet,
        "backup": backup,
        "s3": s3,
        "endpoint": s3.url,
        "region": region(fleet),
        "stanza": stanza(fleet),
        "data_directory": data_directory(fleet),
        "access_key": secrets[secret_name(backup.access_key)],
        "secret_key": secrets[secret_name(backup.secret_key)],
        "ca_path": CA_PATH if backup.ca_file else None,
        "environment_file": RCLONE_ENVIRONMENT,
        "redis_dump": REDIS_DUMP,
        "secrets_copy": SECRETS_COPY,
    }


def _ca_files(fleet: Fleet, group: str) -> list[ConfigFile]:
    certificate = ca_certificate(fleet)
    return [ConfigFile(CA_PATH, certificate, group=group)] if certificate else []


def archive_path(fleet: Fleet) -> str:
    return f"{postgres_cluster.configuration_directory(fleet.postgres)}/conf.d/60-archive.conf"


def database_files(fleet: Fleet, host: Host, secrets: SecretValues) -> list[ConfigFile]:
    """pgBackRest's configuration, the archiving drop-in, the backup unit and its timers (db host)."""
    context = _context(fleet, secrets)
    rendered = [
        ConfigFile(
            CONFIG_FILE,
            render("backup/pgbackrest.conf.j2", **context),
            mode="640",
            group="postgres",
            sensitive=True,
        ),
        ConfigFile(
            archive_path(fleet),
            render("backup/archive.conf.j2", **context),
            user="postgres",
            group="postgres",
        ),
        *_ca_files(fleet, "postgres"),
        ConfigFile(f"{SYSTEMD_DIRECTORY}/{BACKUP_UNIT}", render("backup/mastofleet-backup@.service.j2", **context)),
    ]
    schedules = {"full": fleet.backup.full_schedule, "diff": fleet.backup.differential_schedule}  # type: ignore[union-attr]
    for kind, schedule in schedules.items():
        rendered.append(
            ConfigFile(
                f"{SYSTEMD_DIRECTORY}/mastofleet-backup-{kind}.timer",
                render("backup/mastofleet-backup.timer.j2", kind=kind, schedule=schedule, **context),
            )
        )
    return rendered


def redis_files(fleet: Fleet, host: Host, secrets: SecretValues) -> list[ConfigFile]:
    """The upload of the Redis dump and the secrets file (redis host)."""
    context = _context(fleet, secrets)
    return [
        ConfigFile(RCLONE_ENVIRONMENT, render("backup/rclone.env.j2", **context), mode="600", sensitive=True),
        *_ca_files(fleet, "root"),
        ConfigFile(f"{SYSTEMD_DIRECTORY}/{FILES_UNIT}", render("backup/mastofleet-backup-files.service.j2", **context)),
        ConfigFile(
            f"{SYSTEMD_DIRECTORY}/mastofleet-backup-files.timer",
            render("backup/mastofleet-backup-files.timer.j2", **context),
        ),
    ]


class StanzaMissing(FactBase[bool | None]):
    """True when the repository has no stanza yet, false when it has one; None before pgBackRest is installed."""

    def requires_command(self, *args: object, **kwargs: object) -> str:
        return "pgbackrest"

    def command(self, stanza: str) -> str:
        return f"pgbackrest --stanza={stanza} --output=json info 2>/dev/null || true"

    def process(self, output: list[str]) -> bool | None:
        return '"missing stanza path"' in "".join(output)


@role_deploy("Backups of the database")
def database_backups(fleet: Fleet, host: Host, secrets: SecretValues) -> None:
    """
    Archive every WAL segment to the backup bucket with pgBackRest (asynchronously, from a queue
    that may not outgrow `archive_queue_max_mb`), create the stanza on the first run, and schedule
    full and differential backups with systemd timers; each backup expires what retention no longer
    keeps (old backups and their WAL). Without a backup section, archiving and the timers are removed.
    """
    cluster = postgres_cluster.cluster_service(fleet.postgres)
    if fleet.backup is None:
        _remove_database_backups(fleet, cluster)
        return
    if fleet.migrating_database:
        # The db host is still a standby of the old primary: pgBackRest backs up a primary (the old
        # one keeps its own backups until the cutover); the deploy after the promotion starts these.
        return
    apt.packages(name="Install pgBackRest", packages=["pgbackrest"])
    files.directory(name="pgBackRest's configuration directory", path="/etc/pgbackrest")
    files.directory(name="mastofleet's configuration directory", path="/etc/mastofleet")
    files.directory(name="pgBackRest's spool", path="/var/spool/pgbackrest", user="postgres", group="postgres")
    rendered = database_files(fleet, host, secrets)
    uploaded = put_files(rendered)
    archive = uploaded.of(archive_path(fleet))
    units = [meta for item, meta in zip(rendered, uploaded, strict=True) if item.path.startswith(SYSTEMD_DIRECTORY)]
    # Unknown (None) on the first run, when pgBackRest is only about to be installed: then the command
    # itself asks the repository, and creates the stanza only where there is none.
    missing = current_host.get_fact(StanzaMissing, stanza=stanza(fleet), _sudo=True, _sudo_user="postgres")
    if missing is None or missing:
        name = stanza(fleet)
        server.shell(
            name=f"Create the pgBackRest stanza {name}",
            commands=[
                f"if pgbackrest --stanza={shell(name)} --output=json info | grep -q '\"missing stanza path\"';"
                f" then pgbackrest --stanza={shell(name)} stanza-create; fi"
            ],
            _sudo=True,
            _sudo_user="postgres",
        )
    # archive_mode takes a restart; the command alone a reload (a restart covers both).
    restart_service(cluster, changed(archive))
    systemd.daemon_reload(name="Reload systemd units", _if=changed(units))
    _backup_timers(on=True)


def _backup_timers(on: bool) -> None:
    for kind in KINDS:
        systemd.service(
            name=f"{'Enable' if on else 'Disable'} the {kind} backup timer",
            service=f"mastofleet-backup-{kind}.timer",
            running=on,
            enabled=on,
        )


def _remove_database_backups(fleet: Fleet, cluster: str) -> None:
    archive = archive_path(fleet)
    if not current_host.get_fact(File, path=archive):
        return
    _backup_timers(on=False)
    removed = files.file(name=f"Remove {archive} (no backups in the model)", path=archive, present=False)
    restart_service(cluster, changed(removed))


@role_deploy("Backups of Redis and the secrets file")
def side_files(fleet: Fleet, host: Host, secrets: SecretValues, secrets_document: str | None) -> None:
    """
    Upload the Redis dump and the age-encrypted secrets file to the backup bucket on a timer, and
    delete dumps older than `files_retention_days`.
    """
    if fleet.backup is None:
        if current_host.get_fact(File, path=f"{SYSTEMD_DIRECTORY}/mastofleet-backup-files.timer"):
            systemd.service(
                name="Disable the upload of the Redis dump",
                service="mastofleet-backup-files.timer",
                running=False,
                enabled=False,
            )
        return
    apt.packages(name="Install rclone", packages=["rclone"])
    files.directory(name="mastofleet's configuration directory", path="/etc/mastofleet")
    files.directory(name="Backup staging directory", path=SECRETS_COPY.rsplit("/", 1)[0], mode="700")
    if secrets_document is not None:
        sensitive_file(name="Put the encrypted secrets file (not shown)", path=SECRETS_COPY, content=secrets_document)
    rendered = redis_files(fleet, host, secrets)
    uploaded = put_files(rendered)
    units = [meta for item, meta in zip(rendered, uploaded, strict=True) if item.path.startswith(SYSTEMD_DIRECTORY)]
    systemd.daemon_reload(name="Reload systemd units", _if=changed(units))
    systemd.service(
        name="Enable the upload of the Redis dump", service="mastofleet-backup-files.timer", running=True, enabled=True
    )


def _files(fleet: Fleet, host: Host, secrets: SecretValues) -> list[ConfigFile]:
    if fleet.backup is None:
        return []
    rendered = database_files(fleet, host, secrets) if host.has(Role.db) else []
    return rendered + (redis_files(fleet, host, secrets) if host.has(Role.redis) else [])


def _database(run: Run) -> None:
    if run.host.has(Role.db):
        database_backups(run.fleet, run.host, run.secrets)


def _services(run: Run) -> None:
    if run.host.has(Role.redis):
        side_files(run.fleet, run.host, run.secrets, run.secrets_document())


COMPONENT = Component(
    name="backup",
    applies=with_role(Role.db, Role.redis),
    files=_files,
    steps={Stage.DATABASE: _database, Stage.SERVICES: _services},
)
