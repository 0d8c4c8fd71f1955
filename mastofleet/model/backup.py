"""Backups: pgBackRest to an S3 bucket, with the secrets file and the Redis dump."""

from __future__ import annotations

from pydantic import Field

from mastofleet.model.base import Strict
from mastofleet.model.secrets_reference import SecretReference


class Backup(Strict):
    """pgBackRest from the db host to an S3 bucket, with the secrets file and Redis dump alongside."""

    endpoint: str | None = Field(None, description="S3 endpoint (https); unset: object_storage.endpoint.")
    region: str | None = Field(None, description="S3 region; unset: object_storage.region.")
    bucket: str = Field(description="Bucket for the backups; never the public media bucket.")
    path: str = Field("/pgbackrest", description="Prefix of the repository in the bucket.")
    access_key: SecretReference = Field("secret:object_storage_access_key", description="S3 access key.")
    secret_key: SecretReference = Field("secret:object_storage_secret_key", description="S3 secret key.")
    ca_file: str | None = Field(
        None,
        description="CA certificate of a private endpoint (a file on the operator's machine, "
        "project-relative or absolute); unset: the system's CAs.",
    )
    full_schedule: str = Field("Sun *-*-* 03:00", description="systemd OnCalendar of full backups.")
    differential_schedule: str = Field(
        "Mon..Sat *-*-* 03:00", description="systemd OnCalendar of differential backups."
    )
    files_schedule: str = Field("hourly", description="OnCalendar of the upload of the Redis dump and secrets file.")
    retention_full: int = Field(2, ge=1, description="Full backups kept (with their WAL); older ones expire.")
    files_retention_days: int = Field(14, ge=1, description="Days the uploaded Redis dumps are kept.")
    archive_queue_max_mb: int = Field(
        4096,
        ge=64,
        description="WAL waiting for the archive may use this much of the db disk; beyond it pgBackRest drops "
        "WAL (the backup chain breaks, the database keeps running) instead of filling the disk.",
    )
    archive_timeout: int = Field(
        60, ge=10, description="archive_timeout (s): the most recent point a restore can reach lags by at most this."
    )
