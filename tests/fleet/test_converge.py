"""The whole fleet, deployed by the real deploy.py over SSH onto the local Debian 13 hosts.

Nothing is mocked here but the Mastodon code itself (rubygems is out of reach): the stand-in in
tests/fixtures/standin runs under the same units. PostgreSQL, PgBouncer, Redis, nginx and systemd
are the real things installed by the real roles.
"""

from __future__ import annotations

import json
from pathlib import Path

from support.deploy_run import PROJECT, DeployResult, run_deploy


def test_first_deploy_changed_every_host(first_deploy: DeployResult) -> None:
    # On a fresh fleet every host has something to do; on a reused one the fixture's run may be a no-op.
    assert first_deploy.returncode == 0
    assert not first_deploy.failed


def test_second_deploy_changes_nothing(first_deploy: DeployResult) -> None:
    """Idempotency, counted from pyinfra's own results (not its log text): 0 changed operations."""
    second = run_deploy("inventories/local.py")
    assert second.returncode == 0, second.output
    assert not second.failed
    assert second.changed == {}, f"operations changed on the second run: {second.changed}"
    print(f"\nno-op deploy of the local fleet: {second.seconds:.1f} s, 0 changed operations")


def test_operator_run_record(first_deploy: DeployResult) -> None:
    """Every deploy leaves a record on the operator's machine: who, when, revision, inventory, changes."""
    records = sorted((PROJECT / "runs").glob("*.json"), key=lambda path: path.stat().st_mtime)
    assert records, "no run record in runs/"
    record = json.loads(Path(records[-1]).read_text())
    for field in ("run", "started", "finished", "operator", "revision", "inventory", "hosts"):
        assert record.get(field), f"run record lacks {field}"
    assert record["inventory"].endswith("inventories/local.py")
    assert set(record["hosts"]) >= {"nixie", "freud", "fritz", "franz"}
