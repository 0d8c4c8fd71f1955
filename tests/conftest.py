"""Shared fixtures: the local fleet, booted and deployed once per test session.

Tests that need real hosts ask for `first_deploy` or `deployed_fleet`; on a machine where the local
fleet cannot run (not root, no systemd-nspawn) they are skipped with the reason — CI runs as root,
where they run.

The first deploy (the cold converge) ends in a snapshot of every host (`mastofleet local snapshot`).
A module that changes the fleet says so with `pytestmark = pytest.mark.changes_fleet`; when it
finishes, pass or fail, the fleet is restored from that snapshot (`mastofleet local restore`, seconds
instead of a re-deploy), so every module starts from the converged fleet whatever ran before it, and
any module can run alone. `--shuffle-modules SEED` runs the modules in a random order of that seed.
"""

from __future__ import annotations

# pyinfra's CLI module monkey-patches the standard library with gevent when it is first imported (by
# load_fleet). Patching here, before anything imports ssl or starts a thread (pytest-timeout's timer),
# keeps ssl and the import locks sound in any subset of the tests; patching late breaks SSLContext
# with a RecursionError and the import lock with "cannot release un-acquired lock".
from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from support.deploy_run import PROJECT, DeployResult, run_deploy  # noqa: E402

LOCAL_INVENTORY = "inventories/local.py"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--inventory", default=LOCAL_INVENTORY, help="inventory the testinfra suite checks")
    parser.addoption(
        "--reuse-fleet",
        action="store_true",
        help="deploy onto the local hosts as they are instead of fresh ones (quicker while developing)",
    )
    parser.addoption(
        "--converged",
        action="store_true",
        help="start from the snapshot an earlier session's first deploy took (scripts/test's converge "
        "tier, tests/fleet/test_converge.py): restore it instead of deploying",
    )
    parser.addoption(
        "--shuffle-modules",
        type=int,
        metavar="SEED",
        help="run the test modules in the random order given by SEED (tests of a module keep their order)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "changes_fleet: the module changes the local fleet; it is restored from the snapshot afterwards"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With --shuffle-modules, the modules in a random order; each module's tests stay together, in order."""
    seed = config.getoption("--shuffle-modules")
    if seed is None:
        return
    modules: dict[Path, list[pytest.Item]] = {}
    for item in items:
        modules.setdefault(item.path, []).append(item)
    order = list(modules)
    random.Random(seed).shuffle(order)
    items[:] = [item for path in order for item in modules[path]]
    print(f"\nmodules shuffled with seed {seed}: " + " ".join(path.name for path in order), flush=True)


HEALTHY_WITHIN_SECONDS = 180.0


def _mastofleet(*arguments: str, check: bool = True) -> int:
    command = [str(Path(sys.executable).with_name("mastofleet")), *arguments]
    return subprocess.run(command, cwd=PROJECT, check=check).returncode


def _wait_until_healthy() -> None:
    """Until `mastofleet status` finds every service active and the site answering: systemd's
    "running" means every unit started, not that Puma already listens."""
    deadline = time.monotonic() + HEALTHY_WITHIN_SECONDS
    command = [str(Path(sys.executable).with_name("mastofleet")), "status", LOCAL_INVENTORY]
    while True:
        status = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, check=False)
        if status.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise AssertionError(
                f"the fleet is not healthy {HEALTHY_WITHIN_SECONDS:.0f} s after its snapshot or restore "
                f"(`mastofleet status {LOCAL_INVENTORY}`):\n{status.stdout}{status.stderr}"
            )
        time.sleep(1)


def restore_fleet() -> None:
    """Every host back to the snapshot of the first deploy, and healthy (hosts booted since are gone)."""
    started = time.monotonic()
    _mastofleet("local", "restore")
    _wait_until_healthy()
    print(f"\nfleet restored from the snapshot in {time.monotonic() - started:.1f} s", flush=True)


def _has_snapshot() -> bool:
    from mastofleet.local.machines import machine_files

    return bool(machine_files("nixie").snapshot_layers())


def _first_deploy_record() -> Path:
    """The first deploy's result, kept beside the snapshot it ended in (for `--converged`)."""
    from mastofleet.local.machines import snapshot_directory

    return snapshot_directory() / "first-deploy.json"


def _keep_first_deploy(result: DeployResult) -> None:
    record = _first_deploy_record()
    record.parent.mkdir(parents=True, exist_ok=True)
    summary = {
        "returncode": result.returncode,
        "seconds": result.seconds,
        "changed": result.changed,
        "failed": result.failed,
    }
    record.write_text(json.dumps(summary))


def _converged_deploy() -> DeployResult:
    """The fleet as the converge tier left it: its snapshot restored, and that deploy's result."""
    if not _has_snapshot() or not _first_deploy_record().exists():
        pytest.fail(
            "--converged needs the snapshot and result of a first deploy: run "
            "`pytest tests/fleet/test_converge.py` first (scripts/test's converge tier does)"
        )
    restore_fleet()
    return DeployResult(**json.loads(_first_deploy_record().read_text()))


@pytest.fixture(scope="session")
def first_deploy(request: pytest.FixtureRequest) -> DeployResult:
    """Boot the local fleet and deploy it with the real deploy.py (the cold converge).

    Every host starts fresh, the extra ones (alice, frieda, ...) removed too: hosts left over from
    an earlier run may carry another branch's state (a firewall, units the model no longer has)."""
    if os.geteuid() != 0 or not shutil.which("systemd-nspawn") and not shutil.which("apt-get"):
        pytest.skip("the local fleet needs root and systemd-nspawn")
    if request.config.getoption("--converged"):
        return _converged_deploy()
    reuse = request.config.getoption("--reuse-fleet")
    if not reuse:
        _mastofleet("local", "down")
    _mastofleet("local", "up")
    if reuse and _has_snapshot():
        _mastofleet("local", "restore")
    _mastofleet("secrets", "init", LOCAL_INVENTORY, "--generate-missing")
    result = run_deploy(LOCAL_INVENTORY)
    assert result.returncode == 0 and not result.failed, f"deploy failed: {result.failed}\n{result.output}"
    if not (reuse and _has_snapshot() and not result.changed_count):
        started = time.monotonic()
        _mastofleet("local", "snapshot")
        _keep_first_deploy(result)
        _wait_until_healthy()
        print(f"\nsnapshot of the converged fleet taken in {time.monotonic() - started:.1f} s", flush=True)
    return result


@pytest.fixture(scope="module", autouse=True)
def _restore_after_changes(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a module marked `changes_fleet`, the fleet goes back to the snapshot, pass or fail."""
    yield
    if request.node.get_closest_marker("changes_fleet") and _has_snapshot():
        restore_fleet()


@pytest.fixture(scope="session")
def deployed_fleet(first_deploy: DeployResult, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """The validated Fleet model and pyinfra Inventory of the deployed fleet."""
    from mastofleet.project.fleet import load_fleet

    return load_fleet(request.config.getoption("--inventory"))
