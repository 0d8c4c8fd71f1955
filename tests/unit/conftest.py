"""Shared fixtures of the host-less unit tests."""

from __future__ import annotations

# pyinfra's CLI module monkey-patches the standard library with gevent when it is first imported (by
# load_fleet). Patching here, before anything imports ssl, keeps ssl sound for the tests that also
# speak HTTPS (boto3, urllib); patching late breaks SSLContext with a RecursionError.
from gevent import monkey

monkey.patch_all()

import os  # noqa: E402

import pytest  # noqa: E402
from fleet_builder import REPO, default_fleet_data  # noqa: E402

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
    from mastofleet.fleet import load_fleet

    fleet, _ = load_fleet(str(REPO / "inventories" / "hetzner.py"))
    return fleet


from plans import secrets_in_environment  # noqa: E402, F401 - a fixture shared by the plan tests
