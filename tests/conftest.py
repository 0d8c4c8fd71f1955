"""Shared fixtures: the local fleet, booted and deployed once per test session.

Tests that need real hosts ask for `deployed_fleet`; on a machine where the local fleet cannot run
(not root, no systemd-nspawn) they are skipped with the reason — CI runs as root, where they run.
"""

from __future__ import annotations

# pyinfra's CLI module monkey-patches the standard library with gevent when it is first imported (by
# load_fleet). Patching here, before anything imports ssl or starts a thread (pytest-timeout's timer),
# keeps ssl and the import locks sound in any subset of the tests; patching late breaks SSLContext
# with a RecursionError and the import lock with "cannot release un-acquired lock".
from gevent import monkey

monkey.patch_all()

import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from mastofleet.testing.deploy_run import PROJECT, DeployResult, run_deploy  # noqa: E402

LOCAL_INVENTORY = "inventories/local.py"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--inventory", default=LOCAL_INVENTORY, help="inventory the testinfra suite checks")
    parser.addoption(
        "--reuse-fleet",
        action="store_true",
        help="deploy onto the local hosts as they are instead of fresh ones (quicker while developing)",
    )


def _mastofleet(*arguments: str) -> None:
    command = [str(Path(sys.executable).with_name("mastofleet")), *arguments]
    subprocess.run(command, cwd=PROJECT, check=True)


@pytest.fixture(scope="session")
def first_deploy(request: pytest.FixtureRequest) -> DeployResult:
    """Boot the local fleet and deploy it with the real deploy.py (the cold converge).

    Every host starts fresh, the extra ones (alice, frieda, ...) removed too: hosts left over from
    an earlier run may carry another branch's state (a firewall, units the model no longer has)."""
    if os.geteuid() != 0 or not shutil.which("systemd-nspawn") and not shutil.which("apt-get"):
        pytest.skip("the local fleet needs root and systemd-nspawn")
    if not request.config.getoption("--reuse-fleet"):
        _mastofleet("local", "down")
    _mastofleet("local", "up")
    _mastofleet("secrets", "init", LOCAL_INVENTORY, "--generate-missing")
    result = run_deploy(LOCAL_INVENTORY)
    assert result.returncode == 0 and not result.failed, f"deploy failed: {result.failed}\n{result.output}"
    return result


@pytest.fixture(scope="session")
def deployed_fleet(first_deploy: DeployResult, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """The validated Fleet model and pyinfra Inventory of the deployed fleet."""
    from mastofleet.fleet import load_fleet

    return load_fleet(request.config.getoption("--inventory"))
