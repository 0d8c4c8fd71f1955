"""The Vagrant fleet: the same groups as the Hetzner fleet, and a Vagrantfile vagrant accepts.

VMs cannot boot here (no boxes can be downloaded), so only `vagrant validate` runs.
"""

from __future__ import annotations

import os
import re
import runpy
import shutil
import subprocess
from pathlib import Path

import pytest

from mastofleet.project.fleet import fleet_host_name

PROJECT = Path(__file__).resolve().parents[2]


ROLES = ("db", "redis", "lb", "app", "edge")


def _declared(inventory_path: str) -> dict[str, list[tuple[str, dict]]]:
    """The groups an inventory file declares, read without its connector (no `vagrant status`)."""
    names = runpy.run_path(str(PROJECT / inventory_path))
    return {role: names[role] for role in ROLES}


def _groups(inventory_path: str) -> dict[str, set[str]]:
    return {role: {fleet_host_name(name) for name, _ in hosts} for role, hosts in _declared(inventory_path).items()}


def test_vagrant_inventory_has_the_hetzner_groups() -> None:
    assert _groups("inventories/vagrant.py") == _groups("inventories/hetzner.py")


def test_vagrantfile_defines_the_inventory_addresses() -> None:
    text = (PROJECT / "Vagrantfile").read_text()
    defined = dict(re.findall(r'"(\w+)"\s*=>\s*\{\s*address:\s*"([\d.]+)"', text))
    wanted = {
        fleet_host_name(name): data["private_address"]
        for hosts in _declared("inventories/vagrant.py").values()
        for name, data in hosts
    }
    assert defined == wanted


def test_vagrant_validate() -> None:
    if not shutil.which("vagrant"):
        if os.environ.get("CI"):
            pytest.fail("vagrant is not installed; scripts/install installs it from Debian's packages")
        pytest.skip("vagrant is not installed")
    completed = subprocess.run(
        ["vagrant", "validate", "--ignore-provider"], cwd=PROJECT, capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "validated successfully" in completed.stdout
