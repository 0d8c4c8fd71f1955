"""`mastofleet secrets init --force` never replaces, unasked, a key whose replacement loses data for
good (SECRET_KEY_BASE, the VAPID pair, the Active Record encryption keys): it refuses, naming each
and what would be lost, and changes nothing; `--replace NAME` replaces exactly the named ones.

The local inventory's secrets live in a fresh state directory here (MASTOFLEET_LOCAL_STATE), so the
test does not touch the local fleet's.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fleet_builder import REPO

from mastofleet import commands
from mastofleet.local.machines import STATE_DIRECTORY_VARIABLE

INVENTORY = str(REPO / "inventories" / "local.py")


@pytest.fixture
def initialised(monkeypatch, tmp_path, capsys) -> Path:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(STATE_DIRECTORY_VARIABLE, str(tmp_path))
    assert commands.main(["secrets", "init", INVENTORY]) == 0
    capsys.readouterr()
    return tmp_path / "secrets.json"


def stored(path: Path) -> dict[str, str]:
    return json.loads(path.read_text())["secrets"]


def refused(capsys, *arguments: str) -> str:  # type: ignore[no-untyped-def]
    assert commands.main(["secrets", "init", INVENTORY, *arguments]) != 0
    return capsys.readouterr().err


def test_force_refuses_to_replace_the_irreplaceable_keys_and_changes_nothing(initialised, capsys) -> None:  # type: ignore[no-untyped-def]
    before = initialised.read_bytes()
    message = refused(capsys, "--force")
    for name in ("secret_key_base", "vapid_private_key", "active_record_encryption_primary_key"):
        assert name in message
    assert "logged out" in message and "cannot be read again" in message and "--replace NAME" in message
    assert initialised.read_bytes() == before


def test_replace_names_exactly_what_is_replaced(initialised, capsys) -> None:  # type: ignore[no-untyped-def]
    before = stored(initialised)
    keep = ["--replace", "vapid_private_key", "--replace", "vapid_public_key"]
    everything = [
        arg
        for name in (
            "secret_key_base",
            "active_record_encryption_primary_key",
            "active_record_encryption_deterministic_key",
            "active_record_encryption_key_derivation_salt",
        )
        for arg in ("--replace", name)
    ]
    assert commands.main(["secrets", "init", INVENTORY, "--force", *keep, *everything]) == 0
    after = stored(initialised)
    assert all(after[name] != before[name] for name in before)  # every secret new, each named or replaceable
    assert "replaced secret_key_base: every session" in capsys.readouterr().out


def test_a_replace_that_names_no_such_key_is_refused(initialised, capsys) -> None:  # type: ignore[no-untyped-def]
    before = initialised.read_bytes()
    assert "--replace secret_key_bas: not a key" in refused(capsys, "--force", "--replace", "secret_key_bas")
    assert "only goes with --force" in refused(capsys, "--replace", "secret_key_base")
    assert initialised.read_bytes() == before
