"""Rules over the operator's additions to `.env.production`: only keys Mastodon reads.

The keys mastofleet writes itself are Mastodon's by construction; `instance.extra_environment` is
where a typo (`3_BUCKET=` for `S3_BUCKET=`) or a key Mastodon dropped would pass silently. A value
with a line break writes more keys, so every line an entry produces is checked, as the file would
hold it. A key written twice needs the rendered file and is reported by `mastofleet.views.environment`.
"""

from __future__ import annotations

from mastofleet.model.environment_keys import KNOWN_KEYS, REMOVED_KEYS
from mastofleet.model.fleet import Fleet
from mastofleet.model.problems import Problem
from mastofleet.model.roles import Role


def environment_keys(text: str) -> list[str]:
    """The keys of an env file, in order (comments and blank lines skipped)."""
    keys = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keys.append(stripped.split("=", 1)[0].strip())
    return keys


def extra_environment_keys(fleet: Fleet) -> list[str]:
    """The keys the operator's additions write, in the order the env file holds them."""
    return [
        written
        for key, value in fleet.instance.extra_environment.items()
        for written in environment_keys(f"{key}={value}")
    ]


def environment_keys_known(fleet: Fleet) -> list[Problem]:
    """Every added key must be one Mastodon reads; removed keys are called out by name."""
    if not fleet.with_role(Role.db) or not fleet.with_role(Role.redis):
        return []  # reported by the roles rule; the app has no env file without them
    problems = []
    for key in extra_environment_keys(fleet):
        if key in REMOVED_KEYS:
            problems.append(Problem("instance", f"extra_environment.{key}", REMOVED_KEYS[key], f"remove {key}"))
        elif key not in KNOWN_KEYS:
            problems.append(
                Problem(
                    "instance",
                    f"extra_environment.{key}",
                    f"Mastodon does not read '{key}'; it would be silently ignored",
                    "fix the spelling (see Mastodon's configuration docs) or remove it",
                )
            )
    return problems
