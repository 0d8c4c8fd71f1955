"""The test inventories of the local fleet differ from inventories/local.py only where they mean to,
so a deploy of inventories/local.py after a test that used one of them changes nothing else."""

from __future__ import annotations

import pytest
from fleet_builder import REPO

from mastofleet.project.fleet import load_inventory

LOCAL = REPO / "inventories" / "local.py"
INTENDED = {
    "grown.py": {"app": {"frieda"}},  # one more app host
    "retiring.py": {"retired": {"frieda"}},  # frieda leaving
    "media_migration.py": {},
    "read_replica.py": {"db_replica": {"hermine"}},  # a read replica
    "database_migration.py": {},  # the same hosts; database_migration is data, not a group
}


def groups(path) -> dict[str, set[str]]:
    inventory = load_inventory(str(path))
    named: dict[str, set[str]] = {}
    for host in inventory:
        for group in host.groups:
            if group not in {"all", path.stem, "local"}:
                named.setdefault(group, set()).add(host.name)
    return named


@pytest.mark.parametrize("name", sorted(INTENDED))
def test_a_test_inventory_has_the_local_fleets_groups(name: str) -> None:
    wanted = groups(LOCAL)
    for group, hosts in INTENDED[name].items():
        wanted[group] = wanted.get(group, set()) | hosts
    assert groups(REPO / "tests" / "fleet" / "inventories" / name) == wanted
