"""Operators on the local fleet: an operator the model adds can log in with their key and use sudo;
with root login cut off root's key is refused while the deploy goes on as an operator; an operator
removed from the model can no longer log in after the next deploy.

Real parts: sshd, sudo and the accounts on every host, the real deploy over SSH. The local fleet
keeps root's key login in its normal state (the harness and branches without operators log in as
root): the test turns it off for its run (MASTOFLEET_LOCAL_ROOT_LOGIN=off) and the last deploy
turns it on again.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import paramiko
import pytest
from fleet_support import INVENTORY

from mastofleet.local.access import ROOT_LOGIN_VARIABLE, local_operators
from mastofleet.local.machines import GATEWAY, ssh_key_path
from mastofleet.project.fleet import load_fleet
from support.deploy_run import DeployResult, run_deploy

pytestmark = [pytest.mark.fleet, pytest.mark.changes_fleet]

VISITOR = "olga"


def login(address: str, user: str, key: Path) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(address, username=user, key_filename=str(key), look_for_keys=False, allow_agent=False, timeout=10)
    return client


def run(client: paramiko.SSHClient, command: str) -> tuple[int, str]:
    _, stdout, _ = client.exec_command(command, timeout=30)
    output = stdout.read().decode().strip()
    return stdout.channel.recv_exit_status(), output


def refused(address: str, user: str, key: Path) -> bool:
    try:
        login(address, user, key).close()
    except paramiko.AuthenticationException:
        return True
    return False


@pytest.fixture(scope="module")
def addresses(first_deploy: DeployResult) -> list[str]:
    fleet, _ = load_fleet(INVENTORY)
    return [str(host.private_address) for host in fleet.hosts]


@pytest.fixture(scope="module")
def visitor_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    key = tmp_path_factory.mktemp("operator") / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", VISITOR, "-f", str(key)], check=True)
    return key


def test_an_added_operator_logs_in_and_root_is_cut_off(
    addresses: list[str], visitor_key: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    visitor = {
        "name": VISITOR,
        "ssh_keys": [visitor_key.with_suffix(".pub").read_text().strip()],
        "source_cidrs": [f"{GATEWAY}/32"],
    }
    monkeypatch.setenv(ROOT_LOGIN_VARIABLE, "off")
    result = run_deploy(INVENTORY, "--data", f"operators={json.dumps([*local_operators(), visitor])}")
    assert result.returncode == 0 and not result.failed, f"deploy failed: {result.failed}\n{result.output}"
    for address in addresses:
        with login(address, VISITOR, visitor_key) as client:
            assert run(client, "sudo -n id -u") == (0, "0"), f"{VISITOR} cannot sudo on {address}"
        assert refused(address, "root", ssh_key_path()), f"root logged in to {address} with root login off"


def test_a_removed_operator_cannot_log_in_after_the_next_deploy(addresses: list[str], visitor_key: Path) -> None:
    """The normal deploy (root login on again, no visitor): the account and its key are gone."""
    result = run_deploy(INVENTORY)
    assert result.returncode == 0 and not result.failed, f"deploy failed: {result.failed}\n{result.output}"
    for address in addresses:
        assert refused(address, VISITOR, visitor_key), f"{VISITOR} still logs in to {address}"
        with login(address, "root", ssh_key_path()) as client:
            assert run(client, f"id {VISITOR} 2>/dev/null; test -d /home/{VISITOR}")[0] != 0, address
