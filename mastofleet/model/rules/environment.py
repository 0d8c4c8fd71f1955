"""Rules over the operator's additions to `.env.production`: only keys Mastodon reads.

The keys mastofleet writes itself are Mastodon's by construction; `instance.extra_environment` is
where a typo (`3_BUCKET=` for `S3_BUCKET=`) or a key Mastodon dropped would pass silently. A value
with a line break writes more keys, so every line an entry produces is checked, as the file would
hold it. A key written twice needs the rendered file and is reported by `mastofleet.views.environment`.
"""

from __future__ import annotations

import mastofleet.model.environment_keys as known
from mastofleet.model.fleet import Fleet
from mastofleet.model.problems import Problem
from mastofleet.model.roles import Role

DOCS = "Mastodon's configuration docs, docs.joinmastodon.org/admin/config"


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
    """Every added key must be one the fleet's Mastodon release reads; removed keys are called out
    with the release that removed them. A version of no supported line is judged by all of them."""
    if not fleet.with_role(Role.db) or not fleet.with_role(Role.redis):
        return []  # reported by the roles rule; the app has no env file without them
    line = known.release_line(fleet.instance.version)
    problems = [key_problem(key, line) for key in extra_environment_keys(fleet)]
    return [problem for problem in problems if problem]


def key_problem(key: str, line: str | None) -> Problem | None:
    """What is wrong with one added key for release line `line`, or None if that release reads it."""
    field = f"extra_environment.{key}"
    if known.removed_in(key):
        return Problem("instance", field, known.removed_message(key), f"remove {key}")
    if known.reads(key, line):
        return None
    elsewhere = known.lines_reading(key)
    if elsewhere:
        return Problem(
            "instance",
            field,
            f"Mastodon {line} does not read '{key}' (only Mastodon {' and '.join(elsewhere)} reads it); it would be silently ignored",
            f"remove {key}, or set instance.version to a release of {' or '.join(elsewhere)}",
        )
    family = known.family_of(key)
    if family:
        names = [name.removeprefix(family.prefix) for name in family.names(line)]
        return Problem(
            "instance",
            field,
            f"Mastodon does not read '{key}': the {family.prefix} settings it reads are {', '.join(names)}",
            spelling_fix(key, line),
        )
    return Problem(
        "instance", field, f"Mastodon does not read '{key}'; it would be silently ignored", spelling_fix(key, line)
    )


def spelling_fix(key: str, line: str | None) -> str:
    suggestion = known.closest(key, line)
    if suggestion:
        return f"write '{suggestion}' if that is what you meant, or remove {key} (see {DOCS})"
    return f"fix the spelling (see {DOCS}) or remove {key}"
