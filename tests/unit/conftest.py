"""Shared fixtures of the host-less unit tests."""

from __future__ import annotations

# gevent's patching of the standard library happens in tests/conftest.py, before anything else.
import os

import pytest
from fleet_builder import REPO, default_fleet_data

# Never the operator's Hetzner project: a test that needs the API starts the fake one and points at it.
for _variable in ("HCLOUD_TOKEN", "HCLOUD_ENDPOINT"):
    os.environ.pop(_variable, None)


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
    from mastofleet.project.fleet import load_fleet

    fleet, _ = load_fleet(str(REPO / "inventories" / "hetzner.py"))
    return fleet


from plans import secrets_in_environment  # noqa: E402, F401 - a fixture shared by the plan tests
