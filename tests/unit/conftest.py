"""Shared fixtures of the host-less unit tests."""

from __future__ import annotations

import os

import pytest
from fleet_builder import REPO, default_fleet_data


@pytest.fixture(autouse=True)
def _no_operator_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the operator's MASTOFLEET_* variables (age key, secret values)."""
    for key in list(os.environ):
        if key.startswith("MASTOFLEET_"):
            monkeypatch.delenv(key)


@pytest.fixture
def fleet_data():
    """(hosts, common) of the default fleet as fresh plain dicts; see fleet_builder."""
    return default_fleet_data()


@pytest.fixture(scope="session")
def repo():
    return REPO


@pytest.fixture(scope="session")
def hetzner_fleet():
    """The validated Fleet of `inventories/hetzner.py`, loaded the way `mastofleet check` loads it."""
    from mastofleet.fleet import load_fleet

    fleet, _ = load_fleet(str(REPO / "inventories" / "hetzner.py"))
    return fleet
