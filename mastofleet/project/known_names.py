"""Every name in an operator's data must name something: a role, a setting, a host.

pyinfra takes any group and any data name; mastofleet used to take only what it knew and drop the
rest, so a typo (`edges = [...]`, `postgress = {...}`, a `sidekiq_layout` key naming no host) gave
silent defaults. Here each unknown name is refused by its own name, with the closest valid one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mastofleet.model import Fleet, Host, Role
from mastofleet.model.problems import Problem
from mastofleet.project.data_names import RENAMED
from mastofleet.project.validation_messages import did_you_mean

ROLE_NAMES = tuple(role.value for role in Role)
# Names the project reads besides the model's: the fleet's name, where its secrets are, the layout.
PROJECT_NAMES = frozenset({"fleet_name", "secrets_file", "age_key_file", "sidekiq_layout"})
# The deploy's `--data` switches, read by the runtime (a layer above: named here, tested to match):
# disk_guard.FORCE, rollout.HEALTH_TIMEOUT_DATA, deployment.ROLLBACK_RELEASE, deployment.HOLD_POST_MIGRATIONS.
RUNTIME_NAMES = frozenset(
    {"force_disk", "rollout_health_timeout", "mastofleet_release", "mastofleet_hold_post_migrations"}
)
# An app host's processes come from group data; the rest of a host's fields from its own data.
HOST_NAMES = frozenset(name for name in Host.model_fields if name not in {"name", "roles"})


def _pyinfra_names() -> frozenset[str]:
    """The data names pyinfra's connectors read (ssh_user, docker_identifier, ...)."""
    from pyinfra.api.connectors import get_all_connectors

    names: set[str] = set()
    for connector in get_all_connectors().values():
        names.update(getattr(connector, "data_meta", None) or {})
    return frozenset(names)


def known_data_names() -> frozenset[str]:
    sections = frozenset(name for name in Fleet.model_fields if name not in {"name", "hosts", "secrets"})
    return sections | PROJECT_NAMES | RUNTIME_NAMES | HOST_NAMES | frozenset(RENAMED) | _pyinfra_names()


def unknown_data_names(layers: Iterable[tuple[str, Mapping[str, Any]]]) -> list[Problem]:
    """A problem for each top-level data name that nothing reads, once, in the first layer setting it."""
    known = known_data_names()
    seen: set[str] = set()
    problems = []
    for where, data in layers:
        for key in data:
            # `_sudo` and friends are pyinfra's operation arguments; `a.b` sets one field of a section
            name = str(key).split(".", 1)[0]
            if name.startswith("_") or name in known or name in seen:
                continue
            seen.add(name)
            problems.append(
                Problem(
                    where,
                    name,
                    f"`{name}` is not a setting of mastofleet{did_you_mean(name, sorted(known))}",
                    "rename it to the setting you meant (docs/configuration.md lists them), or remove it",
                )
            )
    return problems


def unknown_group_problems(
    hosts: Iterable[tuple[str, Sequence[str]]], plain_groups: Iterable[str], file_groups: Iterable[str] = ()
) -> list[Problem]:
    """A problem for each inventory group that is no role and not declared in `plain_groups`.

    `file_groups` are pyinfra's own: the group named after the inventory file, and groups that
    exist to carry data (a `group_data/<group>.py` of the project)."""
    allowed = set(ROLE_NAMES) | set(plain_groups) | set(file_groups) | {"all"}
    members: dict[str, list[str]] = {}
    for name, groups in hosts:
        for group in groups:
            if group not in allowed:
                members.setdefault(group, []).append(name)
    return [
        Problem(
            "inventory",
            f"group {group}",
            f"`{group}` is not a role{did_you_mean(group, ROLE_NAMES)} (hosts {', '.join(names)} are in it)",
            f"rename the group to a role ({', '.join(ROLE_NAMES)}), or declare it in group_data/all.py "
            f"as plain_groups = [{group!r}] if it only groups hosts",
        )
        for group, names in members.items()
    ]


def plain_groups_that_are_roles(plain_groups: Iterable[str]) -> list[Problem]:
    return [
        Problem(
            "group_data",
            "plain_groups",
            f"`{group}` is a role, not a plain group",
            f"remove {group!r} from plain_groups: its hosts get the role {group} from the inventory",
        )
        for group in plain_groups
        if group in ROLE_NAMES
    ]


def layout_key_problems(layout: Mapping[str, Any], hosts: Sequence[tuple[str, Sequence[str]]]) -> list[Problem]:
    """A problem for each `sidekiq_layout` key that names no app host (that host would run the defaults)."""
    # a retired host was an app host: its entry stays until the host leaves the inventory
    app_hosts = [name for name, groups in hosts if Role.app.value in groups or Role.retired.value in groups]
    all_hosts = [name for name, _ in hosts]
    problems = []
    for key in layout:
        if key in app_hosts:
            continue
        if key in all_hosts:
            message, fix = f"`{key}` is not an app host", f"put {key} in the app group, or remove its entry"
        else:
            message = f"`{key}` is no host of the inventory{did_you_mean(str(key), app_hosts)}"
            fix = f"name one of the app hosts ({', '.join(app_hosts)}), or remove the entry"
        problems.append(Problem("group_data", f"sidekiq_layout.{key}", message, fix))
    return problems
