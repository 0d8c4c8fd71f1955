"""Model sections for how the fleet is reached and kept: SSH access, the firewall and backups (the
operators themselves are `model.Operator`). Kept apart from model.py, which includes them in `Fleet`.
"""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network

from pydantic import BaseModel, ConfigDict, Field

from mastofleet.secrets_reference import SecretReference

# Accounts the system or the fleet's services own: an operator may never take one over.
RESERVED_ACCOUNTS = frozenset(
    {"root", "daemon", "bin", "sys", "sync", "nobody", "postgres", "redis", "www-data", "mastodon", "sshd"}
)


class _Section(BaseModel):
    """Unknown keys are errors, as in every section of the model."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Access(_Section):
    """How people log in to the hosts: sshd settings every host gets."""

    root_login: bool = Field(
        False,
        description="PermitRootLogin (keys only when on). Off: the deploy connects as an operator with sudo; "
        "on only where a harness logs in as root (the local fleet).",
    )
    ssh_sources: list[IPv4Network | IPv6Network] = Field(
        default_factory=list,
        description="Networks besides the operators' own that the firewall opens SSH to (a bastion, a CI runner, "
        "the machine running the local fleet).",
    )
    operator_group: str = Field(
        "mastofleet-operators",
        description="Group of the operator accounts: sudo without a password; a member the model no longer "
        "names is removed.",
    )


class Firewall(_Section):
    """nftables on every host, rendered from what each role declares (`firewall_rules`)."""

    enabled: bool = Field(True, description="Load the fleet's nftables table at boot and on every deploy.")
    log_drops: bool = Field(True, description="Log dropped packets (rate-limited) to the kernel log.")


class Backup(_Section):
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
