"""Rules over object storage and the media migration."""

from __future__ import annotations

import re
from ipaddress import IPv4Address

from mastofleet.model.base import is_address
from mastofleet.model.fleet import Fleet
from mastofleet.model.problems import Problem
from mastofleet.model.roles import Role


def object_storage_urls(fleet: Fleet) -> list[Problem]:
    storage = fleet.object_storage
    if storage is None or not storage.enabled:
        return []
    problems: list[Problem] = []
    if not storage.endpoint.startswith("https://") and not private_http(fleet, storage.endpoint):
        problems.append(
            Problem(
                "object_storage",
                "endpoint",
                f"'{storage.endpoint}' is not an https URL (plain http only to an address on the private network)",
                "write https://<region endpoint>",
            )
        )
    alias = storage.alias_host
    if alias is not None:
        if "://" in alias or "/" in alias:
            problems.append(
                Problem(
                    "object_storage",
                    "alias_host",
                    f"'{alias}' must be a host name only (Mastodon builds https://<alias>/<path>)",
                    "drop the scheme and any path",
                )
            )
        elif alias.split(".")[0] == storage.bucket:
            problems.append(
                Problem(
                    "object_storage",
                    "alias_host",
                    f"'{alias}' starts with the bucket name; media URLs would carry the bucket twice",
                    "use the host that serves the bucket's root, e.g. files.example.com",
                )
            )
    return problems


def private_http(fleet: Fleet, url: str) -> bool:
    """http:// to an address inside the private network: traffic that, like Redis's, never leaves it."""
    if not url.startswith("http://"):
        return False
    host = url[len("http://") :].split("/", 1)[0].rsplit(":", 1)[0]
    return is_address(host) and IPv4Address(host) in fleet.private_network


def media_migration_settings(fleet: Fleet) -> list[Problem]:
    migration = fleet.media_migration
    if migration is None or not migration.enabled:
        return []
    problems: list[Problem] = []
    storage = fleet.object_storage
    if storage is None or not storage.enabled or storage.alias_host is None:
        problems.append(
            Problem(
                "media_migration",
                "enabled",
                "migration mode needs object storage with an alias_host: the edge serves the media host",
                "set object_storage (enabled, with alias_host) or turn media_migration off",
            )
        )
    if not fleet.with_role(Role.edge):
        problems.append(
            Problem(
                "media_migration",
                "enabled",
                "migration mode runs on edge hosts and the fleet has none",
                "add a host to the inventory group 'edge'",
            )
        )
    scheme, _, rest = migration.origin.partition("://")
    if scheme not in ("http", "https") or not rest or "/" in rest.rstrip("/"):
        problems.append(
            Problem(
                "media_migration",
                "origin",
                f"'{migration.origin}' is not a base URL like http://10.0.0.5:8080",
                "give the scheme, address and port where the old server serves its media directory, no path",
            )
        )
    if not re.fullmatch(r"\d+(\.\d+)?[KMG]?", migration.copy_bandwidth):
        problems.append(
            Problem(
                "media_migration",
                "copy_bandwidth",
                f"'{migration.copy_bandwidth}' is not a bandwidth rclone understands",
                "write a number of bytes per second with an optional K, M or G suffix, e.g. 8M",
            )
        )
    if not re.fullmatch(r"\d+(s|min|m|h|d)", migration.copy_interval):
        problems.append(
            Problem(
                "media_migration",
                "copy_interval",
                f"'{migration.copy_interval}' is not a time span",
                "write a number with s, min, h or d, e.g. 1h",
            )
        )
    return problems
