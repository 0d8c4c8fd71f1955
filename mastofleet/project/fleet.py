"""Build the validated `Fleet` from a pyinfra inventory and its group_data.

Instance-wide sections come from `group_data/all.py`; each host's roles are the inventory groups
it is in, its addresses come from the inventory, and its processes from `group_data/app.py`
(`sidekiq_layout` keyed by host name, with `sidekiq` as the default for any other app host).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from mastofleet.model import Fleet, Host, Role, fleet_problems
from mastofleet.model.problems import FleetError, InventoryError, Problem
from mastofleet.project import cutover_record, media_record
from mastofleet.project.data_names import RENAMED, merged_data, print_deprecations
from mastofleet.project.inventory_source import duplicate_host_problems
from mastofleet.project.known_names import (
    layout_key_problems,
    plain_groups_that_are_roles,
    unknown_data_names,
    unknown_group_problems,
)
from mastofleet.project.secrets import SecretStore
from mastofleet.project.validation_messages import problems_from_validation
from mastofleet.views.environment import duplicate_key_problems
from mastofleet.views.templating import use_project

# Every field of the Fleet is a section of group_data, but for these: the hosts come from the
# inventory, the secret names from the store, and the fleet's name from `fleet_name`.
NOT_SECTIONS = frozenset({"name", "hosts", "secrets"})
FLEET_SECTIONS = tuple(name for name in Fleet.model_fields if name not in NOT_SECTIONS)
FLEET_NAME = "fleet_name"  # the model's `name`: pyinfra takes a data key `name` as every operation's name
# `--data instance.version=v4.6.6`: upgrade without editing group_data
VERSION_OVERRIDE = "instance.version"
# A host's own fields, from its inventory data; its processes come from the app group's layout.
HOST_FIELDS = tuple(name for name in Host.model_fields if name not in {"name", "roles", "sidekiq"})
ROLE_NAMES = {role.value for role in Role}


def fleet_host_name(inventory_name: str) -> str:
    """The fleet's name for an inventory host: `@vagrant/nixie` is nixie."""
    return inventory_name.rsplit("/", 1)[-1] if inventory_name.startswith("@") else inventory_name


def project_directory(inventory_path: str) -> str:
    """The directory holding group_data/ for an inventory: the nearest one upwards, else cwd."""
    directory = Path(inventory_path).resolve().parent
    for candidate in (directory, *directory.parents):
        if (candidate / "group_data").is_dir():
            return str(candidate)
    return os.getcwd()


def load_inventory(inventory_path: str, override_data: Mapping[str, Any] | None = None) -> Any:
    """Read an inventory file the way the pyinfra CLI does, group_data included."""
    from pyinfra.api import Config, State
    from pyinfra.context import ctx_config, ctx_state
    from pyinfra_cli.inventory import make_inventory

    if not Path(inventory_path).is_file():
        raise InventoryError(f"{inventory_path}: no such inventory file")
    try:
        with ctx_state.use(State()), ctx_config.use(Config()):
            return make_inventory(
                inventory_path, override_data=dict(override_data or {}), cwd=project_directory(inventory_path)
            )
    except Exception as error:  # the inventory is Python: anything can go wrong in it
        cause = getattr(error, "exception", None) or error
        raise InventoryError(f"{inventory_path}: cannot read the inventory: {type(cause).__name__}: {cause}") from error


def _host_data(name: str, groups: Iterable[str], data: Mapping[str, Any]) -> dict[str, Any]:
    roles = sorted(group for group in groups if group in ROLE_NAMES)
    raw: dict[str, Any] = {"name": name, "roles": roles}
    for field in HOST_FIELDS:
        if data.get(field) is not None:
            raw[field] = data[field]
    # The app group's data (web, streaming, sidekiq) reaches only app hosts; processes another host
    # carries were set on it directly, and the rules report them instead of dropping them.
    layout = data.get("sidekiq_layout") or {}
    sidekiq = layout.get(name, data.get("sidekiq"))
    if sidekiq:
        raw["sidekiq"] = sidekiq
    return raw


def fleet_from_hosts(
    hosts: Iterable[tuple[str, Iterable[str], Mapping[str, Any]]],
    common: Mapping[str, Any],
    store: SecretStore | None = None,
    file_groups: Iterable[str] = (),
    data_layers: Iterable[tuple[str, Mapping[str, Any]]] | None = None,
) -> Fleet:
    """Build and validate a Fleet from (name, groups, data) triples; raise FleetError with every problem.

    `file_groups`: groups pyinfra or the project make that are no role (the inventory file's own
    group, a group that only carries group_data); any other group must be a role or a plain group.
    `data_layers`: (where, data) of each layer the inventory was read from, so an unknown name is
    reported where it is written; without them, in `common` or the host's data."""
    listed = [(name, list(groups), data) for name, groups, data in hosts]
    layers = list(data_layers) if data_layers is not None else [("group_data", common)]
    layers += [(name, data) for name, _, data in listed]
    problems = _name_problems(listed, common, file_groups, layers)  # before merging drops a path of no section
    common, deprecations = merged_data([("group_data", common)])  # old names in data given directly
    print_deprecations(deprecations)
    parsed_hosts: list[Host] = []
    for name, groups, data in listed:
        layout = data.get("sidekiq_layout")
        if layout is not None and not isinstance(layout, Mapping):
            problems.append(
                Problem(
                    name,
                    "sidekiq_layout",
                    f"is of type {type(layout).__name__}, not a mapping from host name to its Sidekiq processes",
                    'write sidekiq_layout = {"HOST": [{"name": ..., "queues": [...], "threads": N}, ...]} '
                    "in group_data/app.py",
                )
            )
            continue
        raw_host = _host_data(name, groups, data)
        try:
            parsed_hosts.append(Host.model_validate(raw_host))
        except ValidationError as error:
            problems += problems_from_validation(name, error, raw_host, Host)

    raw: dict[str, Any] = {"name": common.get(FLEET_NAME, "mastodon"), "hosts": []}
    for section in FLEET_SECTIONS:
        if common.get(section) is not None:
            raw[section] = common[section]
    if store is not None:
        raw["secrets"] = sorted(store.names())
    try:
        fleet = Fleet.model_validate(raw)
    except ValidationError as error:
        problems += problems_from_validation("fleet", error, raw, Fleet)
        raise FleetError(problems) from None
    fleet = fleet.model_copy(update={"hosts": parsed_hosts})
    if problems:
        # Cross-host rules over a fleet missing its invalid hosts would report false problems.
        raise FleetError(problems)
    problems += one_round(literal_secret_problems(common), fleet_problems(fleet))
    problems += duplicate_key_problems(fleet)  # the one check that needs a rendered file
    if problems:
        raise FleetError(problems)
    return fleet


def _name_problems(
    hosts: list[tuple[str, list[str], Mapping[str, Any]]],
    common: Mapping[str, Any],
    file_groups: Iterable[str],
    layers: Iterable[tuple[str, Mapping[str, Any]]],
) -> list[Problem]:
    """Every name that matches nothing: groups, data names, `sidekiq_layout` keys."""
    plain = common.get("plain_groups") or []
    plain = [str(group) for group in plain] if isinstance(plain, list) else []
    memberships = [(name, groups) for name, groups, _ in hosts]
    problems = unknown_group_problems(memberships, plain, file_groups) + plain_groups_that_are_roles(plain)
    problems += unknown_data_names(layers)
    layouts: dict[str, Any] = {}
    for _, _, data in hosts:
        layout = data.get("sidekiq_layout")
        if isinstance(layout, Mapping):
            layouts.update(layout)
    return problems + layout_key_problems(layouts, memberships)


def one_round(literal: list[Problem], rules: list[Problem]) -> list[Problem]:
    """Both kinds of problem, but a field a rule refuses outright (a key removed from Mastodon) is not
    also told to become a secret reference: following that advice would only meet the rule's refusal."""
    refused = {f"{problem.where}.{problem.field}" for problem in rules}
    return [problem for problem in literal if problem.field not in refused] + rules


SECRET_WORDS = ("password", "secret", "token", "private_key", "access_key")


def literal_secret_problems(data: Mapping[str, Any], where: str = "group_data") -> list[Problem]:
    """Find secret-looking keys whose value is written literally instead of as a reference."""
    problems: list[Problem] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                walk(item, f"{path}.{key}" if path else str(key))
            return
        leaf = path.rsplit(".", 1)[-1].lower()
        names_a_file = leaf.endswith(("_file", "_path"))
        looks_secret = not names_a_file and any(word in leaf for word in SECRET_WORDS)
        if looks_secret and isinstance(value, str) and value and not value.startswith("secret:"):
            problems.append(
                Problem(
                    where,
                    path,
                    "a secret value is written literally",
                    "replace it with a reference like 'secret:NAME' and store the value with "
                    "`mastofleet secrets set NAME`",
                )
            )

    walk(dict(data), "")
    return problems


def fleet_from_inventory(inventory: Any, store: SecretStore | None = None, project: str | None = None) -> Fleet:
    """Build the validated Fleet of a loaded pyinfra Inventory."""
    use_project(project or os.getcwd())  # the project's templates/ comes before the shipped ones
    hosts = [(fleet_host_name(host.name), host.groups, host.data.dict()) for host in inventory]
    common = _common_data(inventory)
    if store is None:
        store = SecretStore.for_fleet_data(common, project or os.getcwd())
    groups = _file_groups(inventory, project or os.getcwd())
    built = fleet_from_hosts(hosts, common, store, groups, _data_layers(inventory))
    fleet = media_record.with_record(built, project or os.getcwd())
    return cutover_record.with_record(fleet, project or os.getcwd())


def _data_layers(inventory: Any) -> list[tuple[str, Mapping[str, Any]]]:
    """Each layer of the inventory's data by where it is written, for naming an unknown name's place."""
    layers: list[tuple[str, Mapping[str, Any]]] = [
        ("the data of group 'all' (group_data/all.py or the inventory)", inventory.get_data())
    ]
    groups = sorted({group for host in inventory for group in host.groups})
    layers += [
        (f"the data of group '{group}' (group_data/{group}.py or the inventory)", inventory.get_group_data(group))
        for group in groups
    ]
    layers += [(f"the inventory data of host '{host.name}'", inventory.get_host_data(host.name)) for host in inventory]
    return [*layers, ("--data", inventory.get_override_data())]


def _file_groups(inventory: Any, project: str) -> set[str]:
    """Groups that are no role by design: the one pyinfra names after the inventory file (every host
    is in it), pyinfra's connector groups (`@fake`, `@vagrant`: also when only some hosts use that
    connector), and those that carry a group_data file of the project."""
    hosts = list(inventory)
    groups = {group for host in hosts for group in host.groups}
    everyone = {group for group in groups if all(group in host.groups for host in hosts)}
    connectors = {group for group in groups if group.startswith("@")}
    with_data = {group for group in groups if (Path(project) / "group_data" / f"{group}.py").is_file()}
    return (everyone | connectors | with_data) - ROLE_NAMES


def _common_data(inventory: Any) -> dict[str, Any]:
    """Instance-wide data: what the first host sees, layer by layer (group `all`, its groups, itself,
    `--data`), with the model's paths for the names of older releases."""
    first = next(iter(inventory), None)
    if first is None:
        raise InventoryError("the inventory has no hosts")
    layers = [("the data of group 'all' (group_data/all.py or the inventory)", inventory.get_data())]
    layers += [
        (f"the data of group '{group}' (group_data/{group}.py or the inventory)", inventory.get_group_data(group))
        for group in first.groups
    ]
    layers += [(f"the inventory data of host '{first.name}'", inventory.get_host_data(first.name))]
    layers += [("--data", inventory.get_override_data())]
    common, deprecations = merged_data(layers)
    print_deprecations(deprecations)
    # pyinfra's own view has the rest (what an @deploy adds), but not the old names: read above
    rest = {key: value for key, value in first.data.dict().items() if key not in RENAMED and "." not in key}
    return {**rest, **common}


def load_fleet(inventory_path: str, override_data: Mapping[str, Any] | None = None) -> tuple[Fleet, Any]:
    """Read an inventory file and return its validated Fleet and the pyinfra Inventory."""
    duplicates = duplicate_host_problems(inventory_path)
    if duplicates:
        raise FleetError(duplicates)  # pyinfra has merged them: what it read is not what was written
    inventory = load_inventory(inventory_path, override_data)
    return fleet_from_inventory(inventory, project=project_directory(inventory_path)), inventory
