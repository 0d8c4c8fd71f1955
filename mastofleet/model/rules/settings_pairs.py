"""Settings that need each other: a mode and its inputs, a feature and the host that runs it.

Each rule here ties one setting to another that a section's own validator cannot see: TLS modes
and their paths or e-mail, monitoring and the monitor host, the media host and the site's domains,
the bucket's name and its provider, the addresses mail is sent from and to.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address

from mastofleet.model.fleet import Fleet
from mastofleet.model.monitoring import Monitoring
from mastofleet.model.problems import Problem
from mastofleet.model.roles import Role

# local@domain.tld, the form every mail server takes; `Name <local@domain.tld>` for a From header.
ADDRESS = r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
EMAIL_PATTERN = re.compile(rf"^{ADDRESS}$")
FROM_PATTERN = re.compile(rf"^({ADDRESS}|[^<>@]+ <{ADDRESS}>)$")


def tls_inputs(fleet: Fleet) -> list[Problem]:
    """mode `files` needs both paths, `certbot` an account e-mail; paths outside `files` are never read."""
    tls = fleet.tls
    if not fleet.with_role(Role.lb) and not fleet.with_role(Role.edge):
        return []
    problems = []
    if tls.mode == "files":
        for field in ("certificate", "key"):
            if getattr(tls, field) is None:
                problems.append(
                    Problem(
                        "tls",
                        field,
                        f"mode 'files' reads the {field} from a file on each lb and edge host, and no path is set",
                        f"set tls.{field} to the path of the PEM file on the hosts, or use mode 'certbot'",
                    )
                )
    elif tls.certificate is not None or tls.key is not None:
        field = "certificate" if tls.certificate is not None else "key"
        problems.append(
            Problem(
                "tls",
                field,
                f"a {field} path is set, but mode '{tls.mode}' never reads it",
                f"set tls.mode to 'files' to use it, or remove tls.{field}",
            )
        )
    if tls.mode == "certbot" and tls.email is None:
        problems.append(
            Problem(
                "tls",
                "email",
                "certbot registers a Let's Encrypt account with an e-mail address, and none is set",
                "set tls.email to the address that should get expiry warnings, e.g. admin@example.com",
            )
        )
    if tls.email is not None and not EMAIL_PATTERN.match(tls.email):
        problems.append(_bad_address("tls", "email", tls.email))
    return problems


def _bad_address(where: str, field: str, value: str) -> Problem:
    return Problem(
        where,
        field,
        f"'{value}' is not an e-mail address",
        f"write {field} as local@domain, e.g. notifications@example.com",
    )


def mail_addresses(fleet: Fleet) -> list[Problem]:
    """The From address of the instance's mail and every alert receiver's address."""
    problems = []
    if fleet.smtp is not None and not FROM_PATTERN.match(fleet.smtp.from_address):
        problems.append(
            Problem(
                "smtp",
                "from_address",
                f"'{fleet.smtp.from_address}' is not an e-mail address (SMTP_FROM_ADDRESS)",
                "write it as notifications@example.com or 'Mastodon <notifications@example.com>'",
            )
        )
    for receiver in fleet.monitoring.alertmanager.receivers:
        if receiver.email_to is not None and not EMAIL_PATTERN.match(receiver.email_to):
            problems.append(
                _bad_address("monitoring", f"alertmanager.receivers[{receiver.name}].email_to", receiver.email_to)
            )
    return problems


def smtp_login(fleet: Fleet) -> list[Problem]:
    """A login goes with a password (and the other way round); auth_method 'none' sends neither."""
    smtp = fleet.smtp
    if smtp is None:
        return []
    if smtp.auth_method == "none":
        given = [field for field in ("login", "password") if getattr(smtp, field) is not None]
        return [
            Problem(
                "smtp",
                field,
                f"a {field} is set, but auth_method 'none' never sends it",
                f"set smtp.auth_method to 'plain' or 'login' to use it, or remove smtp.{field}",
            )
            for field in given
        ]
    if (smtp.login is None) != (smtp.password is None):
        missing, given_field = ("password", "login") if smtp.password is None else ("login", "password")
        return [
            Problem(
                "smtp",
                missing,
                f"smtp.{given_field} is set without smtp.{missing}: the mail server would refuse the login",
                f"set smtp.{missing}"
                + (" as a reference like 'secret:smtp_password'" if missing == "password" else "")
                + f", or remove smtp.{given_field} and set auth_method = 'none'",
            )
        ]
    return []


def postgres_reserve(fleet: Fleet) -> list[Problem]:
    """The reserved connections must leave some for the app."""
    postgres = fleet.postgres
    if postgres.reserved_connections < postgres.max_connections:
        return []
    return [
        Problem(
            "postgres",
            "reserved_connections",
            f"{postgres.reserved_connections} reserved of max_connections {postgres.max_connections} leaves "
            "none for the app",
            f"set reserved_connections below {postgres.max_connections} (10 is plenty), or raise max_connections",
        )
    ]


def monitoring_needs_a_host(fleet: Fleet) -> list[Problem]:
    """Monitoring settings given with no host in `monitor` would deploy no Prometheus and no exporter.
    A fleet without monitoring on purpose leaves the section at its defaults (`monitoring = {}`)."""
    if fleet.monitor_host is not None or fleet.monitoring == Monitoring():
        return []
    what = "Alertmanager and its receivers" if fleet.monitoring.alertmanager.enabled else "the monitoring settings"
    return [
        Problem(
            "monitoring",
            "alertmanager" if fleet.monitoring.alertmanager.enabled else "(section)",
            f"{what} are set, but no host is in the group 'monitor': nothing would be scraped or alerted on",
            "put one host into the inventory group 'monitor', or set monitoring = {} for a fleet without monitoring",
        )
    ]


def media_host_apart(fleet: Fleet) -> list[Problem]:
    """The media host (S3_ALIAS_HOST) must not be the site: the site's nginx would get the media requests."""
    storage = fleet.object_storage
    if storage is None or not storage.enabled or storage.alias_host is None:
        return []
    alias = storage.alias_host.lower()
    for field, domain in (("local_domain", fleet.instance.local_domain), ("web_domain", fleet.instance.web_domain)):
        if domain is not None and alias == domain.lower():
            return [
                Problem(
                    "object_storage",
                    "alias_host",
                    f"'{alias}' is also instance.{field}: media and the site would share one host name",
                    f"give media a host of its own, e.g. media.{fleet.instance.local_domain}",
                )
            ]
    return []


# Amazon's general purpose bucket rules (docs.aws.amazon.com, "Bucket naming rules"): reserved
# prefixes and suffixes mark access points, Object Lambda, multi-region and directory buckets.
AWS_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
AWS_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
BUCKET_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def bucket_name(fleet: Fleet) -> list[Problem]:
    """A bucket name every provider takes: 3-63 of a-z, 0-9, '.', '-', starting and ending alphanumeric,
    not an address; no dots where the bucket is reached by name over https; Amazon's reserved names."""
    storage = fleet.object_storage
    if storage is None or not storage.enabled:
        return []
    bucket = storage.bucket
    wrong = _bucket_fault(bucket, storage.provider, storage.path_style)
    if wrong is None:
        return []
    return [
        Problem(
            "object_storage",
            "bucket",
            f"'{bucket}' is not a bucket name {storage.provider} accepts: {wrong}",
            "use 3 to 63 lowercase letters, digits and '-', starting and ending with a letter or digit, "
            f"e.g. {_suggestion(bucket, storage.provider)}",
        )
    ]


def _suggestion(bucket: str, provider: str) -> str:
    """The name as the rules would have it: other characters as '-', reserved affixes dropped."""
    name = bucket.lower()
    for prefix in AWS_RESERVED_PREFIXES:
        name = name.removeprefix(prefix)
    for suffix in AWS_RESERVED_SUFFIXES:
        name = name.removesuffix(suffix)
    name = re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]+", "-", name)).strip("-")[:63].strip("-")
    return name if _bucket_fault(name, provider, path_style=False) is None else "mastodon-media"


def _bucket_fault(bucket: str, provider: str, path_style: bool) -> str | None:
    if not 3 <= len(bucket) <= 63:
        return f"it has {len(bucket)} characters"
    if not BUCKET_PATTERN.match(bucket):
        return "it holds characters other than a-z, 0-9, '.' and '-', or starts or ends with '.' or '-'"
    if ".." in bucket:
        return "it has two dots in a row"
    try:
        IPv4Address(bucket)
        return "it is written as an IP address"
    except ValueError:
        pass
    if "." in bucket and not path_style:
        # https://BUCKET.HOST: the provider's wildcard certificate covers one label only
        return "a dot in it breaks https to BUCKET.<endpoint host> (the certificate covers one label)"
    if provider == "s3":
        for prefix in AWS_RESERVED_PREFIXES:
            if bucket.startswith(prefix):
                return f"Amazon reserves the prefix '{prefix}'"
        for suffix in AWS_RESERVED_SUFFIXES:
            if bucket.endswith(suffix):
                return f"Amazon reserves the suffix '{suffix}'"
    return None


def settings_pairs(fleet: Fleet) -> list[Problem]:
    """Every rule of this module, in the order of the sections."""
    return (
        tls_inputs(fleet)
        + mail_addresses(fleet)
        + smtp_login(fleet)
        + postgres_reserve(fleet)
        + monitoring_needs_a_host(fleet)
        + media_host_apart(fleet)
        + bucket_name(fleet)
    )
