"""The fleet lock's rules, with the lock host's shell played by this machine's `sh` (the directory
moved into a temporary one): one holder at a time, the holder named to whoever is refused, the lock
given back only by its holder, inherited by a command's own deploys, a dead local holder taken over.
The fleet test (tests/fleet/test_fleet_lock.py) runs it on the local fleet over SSH."""

from __future__ import annotations

import json
import os
import subprocess
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
from fleet_builder import build, default_fleet_data

from mastofleet.remote import fleet_lock
from mastofleet.remote.session import RemoteError


class LocalShell:
    def run(self, command: str, timeout: float = 60) -> str:
        done = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise RemoteError(f"local: `{command[:80]}` failed ({done.returncode}): {done.stderr}")
        return done.stdout


@pytest.fixture
def lock(monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    directory = tmp_path / "fleet-lock"
    monkeypatch.setattr(fleet_lock, "LOCK_DIRECTORY", str(directory))
    monkeypatch.setattr(fleet_lock, "HOLDER_FILE", str(directory / "holder.json"))

    @contextmanager
    def connected(name, data):  # type: ignore[no-untyped-def]
        yield LocalShell()

    monkeypatch.setattr(fleet_lock, "connected", connected)
    monkeypatch.delenv(fleet_lock.TOKEN_VARIABLE, raising=False)
    fleet = build(*default_fleet_data())
    inventory = [SimpleNamespace(name=host.name, data=SimpleNamespace(dict=lambda: {})) for host in fleet.hosts]
    return fleet, inventory, directory


def test_one_holder_at_a_time_and_the_refused_one_is_told_who(lock) -> None:  # type: ignore[no-untyped-def]
    fleet, inventory, directory = lock
    holder = fleet_lock.take(fleet, inventory, "mastofleet upgrade inventories/hetzner.py")
    assert holder is not None and json.loads((directory / "holder.json").read_text())["token"] == holder.token
    with pytest.raises(fleet_lock.FleetLocked) as refused:
        fleet_lock.take(fleet, inventory, "mastofleet deploy inventories/hetzner.py")
    assert holder.who in str(refused.value) and "'mastofleet upgrade inventories/hetzner.py'" in str(refused.value)
    assert "Nothing was changed" in str(refused.value) and "mastofleet lock break" in str(refused.value)
    fleet_lock.give_back(fleet, inventory, holder)
    assert not directory.exists()


def test_only_the_holder_gives_it_back_and_a_commands_deploys_inherit_it(lock, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    fleet, inventory, directory = lock
    holder = fleet_lock.take(fleet, inventory, "mastofleet upgrade")
    assert holder is not None
    stranger = fleet_lock.this_run("someone else")
    fleet_lock.give_back(fleet, inventory, stranger)
    assert directory.exists(), "a run that does not hold the lock removed it"
    monkeypatch.setenv(fleet_lock.TOKEN_VARIABLE, holder.token)
    assert fleet_lock.take(fleet, inventory, "pyinfra deploy.py") is None  # the command's own deploy
    monkeypatch.setenv(fleet_lock.TOKEN_VARIABLE, "another command's token")
    with pytest.raises(fleet_lock.FleetLocked):
        fleet_lock.take(fleet, inventory, "pyinfra deploy.py")


def test_a_dead_local_holder_is_taken_over_a_remote_one_is_not(lock, capsys) -> None:  # type: ignore[no-untyped-def]
    fleet, inventory, directory = lock
    dead = subprocess.Popen(["true"])
    dead.wait()
    gone = fleet_lock.this_run("mastofleet deploy")
    directory.mkdir()
    (directory / "holder.json").write_text(json.dumps({**gone.__dict__, "pid": dead.pid}))
    mine = fleet_lock.take(fleet, inventory, "mastofleet deploy")
    assert mine is not None and "that process is gone" in capsys.readouterr().err
    (directory / "holder.json").write_text(json.dumps({**gone.__dict__, "machine": "laptop", "pid": os.getpid()}))
    with pytest.raises(fleet_lock.FleetLocked):
        fleet_lock.take(fleet, inventory, "mastofleet deploy")


def test_fleets_not_reached_over_ssh_have_no_lock(lock) -> None:  # type: ignore[no-untyped-def]
    fleet, _, _ = lock
    inventory = [SimpleNamespace(name=f"@vagrant/{host.name}", data=SimpleNamespace(dict=dict)) for host in fleet.hosts]
    assert fleet_lock.take(fleet, inventory, "pyinfra deploy.py") is None
