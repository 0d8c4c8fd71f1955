"""The default fleet as plain data, so a test can change one thing and watch the rules react.

`default_fleet_data()` returns what pyinfra would hand `fleet_from_hosts` for `inventories/hetzner.py`:
`hosts` as `{"name", "groups", "data"}` dicts (addresses from `hetzner.state.json`, and for app hosts
the values of `group_data/app.py`) and `common`, the values of `group_data/all.py`. Everything is a
fresh deep copy, so tests mutate freely.
"""

from __future__ import annotations

import copy
import json
import runpy
import types
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mastofleet.model import Fleet
from mastofleet.model.problems import FleetError, Problem
from mastofleet.model.secrets_reference import MASTODON_SECRETS
from mastofleet.project.fleet import fleet_from_hosts

REPO = Path(__file__).resolve().parents[2]
GROUPS: dict[str, list[str]] = {
    "nixie": ["db", "redis", "lb", "monitor"],
    "freud": ["app"],
    "fritz": ["app"],
    "franz": ["app"],
    "esme": ["edge"],
}
APP_HOSTS = ("freud", "fritz", "franz")
# Every secret the default fleet references (Mastodon's six, the services', object storage, SMTP).
SECRET_NAMES = frozenset(
    {
        *MASTODON_SECRETS.values(),
        "postgres_password",
        "redis_password",
        "cache_redis_password",
        "sidekiq_redis_password",
        "object_storage_access_key",
        "object_storage_secret_key",
        "smtp_password",
    }
)


def group_data(name: str) -> dict[str, Any]:
    """The public values a `group_data/<name>.py` file defines (what pyinfra puts into host.data)."""
    values = runpy.run_path(str(REPO / "group_data" / f"{name}.py"))
    return {
        key: value
        for key, value in values.items()
        if not key.startswith("_") and not isinstance(value, (types.ModuleType, types.FunctionType, type))
    }


def addresses() -> dict[str, dict[str, str]]:
    return json.loads((REPO / "inventories" / "hetzner.state.json").read_text())["servers"]


_ALL = group_data("all")
_APP = group_data("app")
_ADDRESSES = addresses()


def default_fleet_data() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(hosts, common) of the default fleet, as fresh plain dicts."""
    hosts = []
    for name, groups in GROUPS.items():
        data: dict[str, Any] = {
            "private_address": _ADDRESSES[name]["private_address"],
            "public_address": _ADDRESSES[name]["public_address"],
        }
        if "app" in groups:
            data.update(copy.deepcopy(_APP))
        hosts.append({"name": name, "groups": list(groups), "data": data})
    return hosts, copy.deepcopy(_ALL)


def host_data(hosts: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """The data dict of the (first) host called `name`."""
    return next(host for host in hosts if host["name"] == name)["data"]


def layout(hosts: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """The Sidekiq processes `group_data/app.py` gives app host `name` (mutable in place)."""
    return host_data(hosts, name)["sidekiq_layout"][name]


def process(hosts: list[dict[str, Any]], host: str, process_name: str) -> dict[str, Any]:
    return next(item for item in layout(hosts, host) if item["name"] == process_name)


class FakeSecretStore:
    """Stands in for `SecretStore`: `fleet_from_hosts` only asks it for the names it holds."""

    def __init__(self, names: Iterable[str] = SECRET_NAMES) -> None:
        self._names = set(names)

    def names(self) -> set[str]:
        return set(self._names)


def triples(hosts: list[dict[str, Any]]) -> list[tuple[str, list[str], dict[str, Any]]]:
    return [(host["name"], host["groups"], host["data"]) for host in hosts]


def build(hosts: list[dict[str, Any]], common: dict[str, Any], secrets: Iterable[str] = SECRET_NAMES) -> Fleet:
    return fleet_from_hosts(triples(hosts), common, FakeSecretStore(secrets))  # type: ignore[arg-type]


def problems_of(
    hosts: list[dict[str, Any]], common: dict[str, Any], secrets: Iterable[str] = SECRET_NAMES
) -> tuple[list[Problem], str]:
    """The problems a fleet is refused with, and the error text; fails the test if it is accepted."""
    try:
        build(hosts, common, secrets)
    except FleetError as error:
        return error.problems, str(error)
    raise AssertionError("the fleet was accepted, but it is invalid")


def only(problems: list[Problem]) -> Problem:
    """The one problem of ``problems``; fails, listing them, when there are more or none."""
    assert len(problems) == 1, "expected exactly one problem, got:\n" + "\n".join(map(str, problems))
    return problems[0]


def wfm(problem: Problem) -> tuple[str, str, str]:
    """Where, field and message of a problem, to compare in one assert."""
    return problem.where, problem.field, problem.message
