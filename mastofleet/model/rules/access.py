"""Rules over operators, SSH, the firewall, secrets and backups."""

from __future__ import annotations

from mastofleet.model.access import RESERVED_ACCOUNTS
from mastofleet.model.fleet import Fleet
from mastofleet.model.problems import Problem
from mastofleet.model.rules.media import private_http
from mastofleet.model.rules.shared import repeated


def secrets_present(fleet: Fleet) -> list[Problem]:
    missing = sorted(fleet.referenced_secrets() - set(fleet.secrets))
    return [
        Problem(
            "secrets",
            name,
            "the fleet needs this secret but the secret store does not hold it",
            "run `mastofleet secrets init` (or `mastofleet secrets set NAME`)",
        )
        for name in missing
    ]


def operator_names_and_keys(fleet: Fleet) -> list[Problem]:
    problems = [
        Problem("operators", name, "two operators share this name", "give each operator their own account name")
        for name in repeated(operator.name for operator in fleet.operators)
    ]
    owners: dict[str, str] = {}
    for operator in fleet.operators:
        for key in operator.ssh_keys:
            body = key.split()[1]
            if body in owners and owners[body] != operator.name:
                problems.append(
                    Problem(
                        "operators",
                        f"{operator.name}.ssh_keys",
                        f"this key is also {owners[body]}'s; a shared key makes the accounts one",
                        "give each operator their own key",
                    )
                )
            owners.setdefault(body, operator.name)
    return problems


def operator_accounts(fleet: Fleet) -> list[Problem]:
    """An operator's account may not be one the system or the fleet's services own."""
    taken = RESERVED_ACCOUNTS | {fleet.instance.user}
    return [
        Problem(
            "operators",
            operator.name,
            "this is an account of the system or of a service, not a person's",
            "use the person's own login name",
        )
        for operator in fleet.operators
        if operator.name in taken
    ]


def somebody_can_log_in(fleet: Fleet) -> list[Problem]:
    problems = []
    if not fleet.access.root_login and not fleet.operators:
        problems.append(
            Problem(
                "access",
                "root_login",
                "root may not log in and there is no operator: after this deploy nobody could log in",
                "add yourself to `operators` (name, ssh_keys, source_cidrs) first",
            )
        )
    has_sources = fleet.access.ssh_sources or any(operator.source_cidrs for operator in fleet.operators)
    if fleet.firewall.enabled and not has_sources:
        problems.append(
            Problem(
                "firewall",
                "enabled",
                "the firewall would open SSH to nobody: no operator's source_cidrs and no access.ssh_sources",
                "add an operator with source_cidrs, or access.ssh_sources",
            )
        )
    return problems


def backup_storage(fleet: Fleet) -> list[Problem]:
    backup = fleet.backup
    if backup is None:
        return []
    problems = []
    storage = fleet.object_storage
    endpoint = backup.endpoint or (storage.endpoint if storage else None)
    if endpoint is None or (backup.region is None and storage is None):
        problems.append(
            Problem(
                "backup",
                "endpoint",
                "no S3 endpoint or region for the backups (and no object_storage to take them from)",
                "set backup.endpoint and backup.region",
            )
        )
    elif not endpoint.startswith("https://") and (backup.endpoint is not None or private_http(fleet, endpoint)):
        # (a public non-https media endpoint is already reported by the object_storage rule)
        problems.append(
            Problem(
                "backup",
                "endpoint",
                f"'{endpoint}' is not https: pgBackRest speaks S3 over TLS only",
                "give the https endpoint (a private S3 server needs TLS and backup.ca_file)",
            )
        )
    if storage is not None and backup.bucket == storage.bucket:
        problems.append(
            Problem(
                "backup",
                "bucket",
                f"'{backup.bucket}' is the media bucket, which is served to the public",
                "use a bucket of its own for backups",
            )
        )
    return problems
