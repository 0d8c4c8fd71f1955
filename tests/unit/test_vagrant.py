"""The Vagrant fleet: the same groups as the Hetzner fleet, a Vagrantfile vagrant accepts for every
provider, the reduced fleet of the dry run valid for the model, and the pieces of the lxc set-up
(the box's files, the network's checks) that need no container.

The dry run itself, with real containers, is tests/vagrant/test_vagrant_dry_run.py.
"""

from __future__ import annotations

import os
import re
import runpy
import shutil
import subprocess
from pathlib import Path

import pytest
from fleet_builder import FakeSecretStore, group_data

from mastofleet.local.mirror import MirrorHost
from mastofleet.local.network import render_firewall
from mastofleet.model import Role
from mastofleet.project.data_names import merged_data
from mastofleet.project.fleet import fleet_from_hosts, fleet_host_name
from mastofleet.vagrant import box, dry_run, network
from mastofleet.vagrant.inventory import ADDRESSES

PROJECT = Path(__file__).resolve().parents[2]
ROLES = ("db", "redis", "lb", "app", "edge", "monitor")
VAGRANTFILE = (PROJECT / "Vagrantfile").read_text()


def _declared(inventory_path: str) -> dict[str, list[tuple[str, dict]]]:
    """The groups an inventory file declares, read without its connector (no `vagrant status`)."""
    names = runpy.run_path(str(PROJECT / inventory_path))
    return {role: names.get(role, []) for role in ROLES}


def _groups(inventory_path: str) -> dict[str, set[str]]:
    return {role: {fleet_host_name(name) for name, _ in hosts} for role, hosts in _declared(inventory_path).items()}


def test_vagrant_inventory_has_the_hetzner_groups() -> None:
    assert _groups("inventories/vagrant.py") == _groups("inventories/hetzner.py")


def test_vagrantfile_defines_the_inventory_addresses() -> None:
    defined = dict(re.findall(r'"(\w+)"\s*=>\s*\{\s*address:\s*"([\d.]+)"', VAGRANTFILE))
    wanted = {
        fleet_host_name(name): data["private_address"]
        for hosts in _declared("inventories/vagrant.py").values()
        for name, data in hosts
    }
    assert defined == wanted == ADDRESSES


def test_vagrantfile_uses_the_bridge_the_network_makes() -> None:
    assert f'LXC_BRIDGE = "{network.BRIDGE}"' in VAGRANTFILE
    assert f'LXC_GATEWAY = "{network.GATEWAY}"' in VAGRANTFILE
    assert f'override.vm.box = "{box.BOX_NAME}"' in VAGRANTFILE
    assert all(address.startswith(network.NETWORK.rsplit(".", 1)[0] + ".") for address in ADDRESSES.values())


def test_the_dry_run_fleet_is_the_db_host_and_one_app_host() -> None:
    groups = _groups("inventories/vagrant_dry_run.py")
    assert groups == {
        "db": {"nixie"},
        "redis": {"nixie"},
        "lb": {"nixie"},
        "monitor": {"nixie"},
        "app": {"freud"},
        "edge": set(),
    }
    assert set(dry_run.MACHINES) == set().union(*groups.values())


def _fleet_triples(inventory_path: str) -> list[tuple[str, list[str], dict]]:
    """What pyinfra hands the model for an inventory: each host's groups, and its data over
    group_data/app.py's for app hosts (host data wins over group data)."""
    app = group_data("app")
    triples: dict[str, tuple[str, list[str], dict]] = {}
    for role, hosts in _declared(inventory_path).items():
        for name, data in hosts:
            short = fleet_host_name(name)
            entry = triples.setdefault(short, (short, [], {}))
            entry[1].append(role)
            entry[2].update({**(app if role == "app" else {}), **entry[2], **data})
    return list(triples.values())


@pytest.mark.parametrize(
    ("inventory_path", "groups", "app_hosts"),
    [
        ("inventories/vagrant.py", ("all", "vagrant"), {"freud", "fritz", "franz"}),
        ("inventories/vagrant_dry_run.py", ("all", "vagrant", "vagrant_dry_run"), {"freud"}),
    ],
)
def test_the_vagrant_fleets_are_valid(inventory_path: str, groups: tuple[str, ...], app_hosts: set[str]) -> None:
    """What `mastofleet check` says once the machines run (the connector needs them running)."""
    common, _ = merged_data([(f"group_data/{name}.py", group_data(name)) for name in groups])
    fleet = fleet_from_hosts(_fleet_triples(inventory_path), common, FakeSecretStore())  # type: ignore[arg-type]
    assert {host.name for host in fleet.with_role(Role.app)} == app_hosts


def test_the_dry_run_fleet_runs_the_standin() -> None:
    common, _ = merged_data(
        [(f"group_data/{name}.py", group_data(name)) for name in ("all", "vagrant", "vagrant_dry_run")]
    )
    fleet = fleet_from_hosts(_fleet_triples("inventories/vagrant_dry_run.py"), common, FakeSecretStore())  # type: ignore[arg-type]
    assert fleet.instance.source.path == "tests/fixtures/standin"
    assert fleet.backup is None


def _vagrant(*arguments: str, hosts: str | None = None, where: Path = PROJECT) -> subprocess.CompletedProcess[str]:
    if not shutil.which("vagrant"):
        if os.environ.get("CI"):
            pytest.fail("vagrant is not installed; scripts/install installs it from Debian's packages")
        pytest.skip("vagrant is not installed")
    environment = {**os.environ, dry_run.HOSTS_VARIABLE: hosts or ""}
    return subprocess.run(
        ["vagrant", *arguments], cwd=where, env=environment, capture_output=True, text=True, timeout=300
    )


def test_vagrant_validate() -> None:
    completed = _vagrant("validate", "--ignore-provider")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "validated successfully" in completed.stdout


def test_vagrant_defines_the_reduced_fleet_and_refuses_an_unknown_host(tmp_path: Path) -> None:
    # A copy of the Vagrantfile in a folder of its own: no machine of a dry run is locked or listed there.
    shutil.copy(PROJECT / "Vagrantfile", tmp_path / "Vagrantfile")
    completed = _vagrant("status", "--machine-readable", hosts="nixie,freud", where=tmp_path)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    names = {line.split(",")[1] for line in completed.stdout.splitlines() if ",state," in line}
    assert names == {"nixie", "freud"}
    refused = _vagrant("validate", "--ignore-provider", hosts="nixie,hermine", where=tmp_path)
    assert refused.returncode != 0
    assert "hermine" in refused.stdout + refused.stderr


def test_the_box_names_the_mirror_hosts_and_gives_vagrant_sudo() -> None:
    hosts = box.render_hosts((MirrorHost("mirror.example", ("192.0.2.80", "192.0.2.81")),))
    assert "192.0.2.80\tmirror.example\n" in hosts
    assert "127.0.0.1\tlocalhost" in hosts
    assert "vagrant ALL=(ALL) NOPASSWD: ALL" in box.SUDOERS


def test_the_box_is_rebuilt_when_the_mirror_moves(tmp_path: Path) -> None:
    if not shutil.which("vagrant"):
        pytest.skip("vagrant is not installed (its insecure key is part of the box)")
    (tmp_path / box.BASE_FINGERPRINT).parent.mkdir(parents=True)
    (tmp_path / box.BASE_FINGERPRINT).write_text("base-1\n")
    first = box.fingerprint(tmp_path, (MirrorHost("mirror.example", ("192.0.2.80",)),))
    moved = box.fingerprint(tmp_path, (MirrorHost("mirror.example", ("192.0.2.99",)),))
    (tmp_path / box.BASE_FINGERPRINT).write_text("base-2\n")
    rebuilt_base = box.fingerprint(tmp_path, (MirrorHost("mirror.example", ("192.0.2.80",)),))
    assert len({first, moved, rebuilt_base}) == 3


def test_the_network_refuses_an_address_already_taken() -> None:
    in_use = {"lo": ["127.0.0.1"], "eth0": ["192.168.56.7"], network.BRIDGE: [network.GATEWAY]}
    assert network.conflicts(in_use) == ["eth0 has 192.168.56.7"]
    assert network.conflicts({network.BRIDGE: [network.GATEWAY], "mf0": ["10.77.0.1"]}) == []


def test_the_containers_firewall_is_the_local_fleets_on_its_own_bridge() -> None:
    text = render_firewall(("192.0.2.80",), table=network.TABLE, bridge=network.BRIDGE, network=network.NETWORK)
    assert f"table inet {network.TABLE} {{" in text
    assert f'iifname "{network.BRIDGE}" drop' in text
    assert f"ip saddr {network.NETWORK} oifname" in text
    assert "mf0" not in text and "10.77.0." not in text


def test_the_dry_run_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dry_run.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(dry_run.shutil, "which", lambda command: None)
    problems = dry_run.missing_prerequisites()
    assert problems[0].startswith("it needs root")
    assert any("apt-get install lxc" in problem for problem in problems)
