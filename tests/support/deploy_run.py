"""The repository's deploys, for the tests: `mastofleet.runtime.deploy_run` run in this checkout."""

from __future__ import annotations

from pathlib import Path

from mastofleet.runtime import deploy_run
from mastofleet.runtime.deploy_run import DeployResult

PROJECT = Path(__file__).resolve().parents[2]

__all__ = ["PROJECT", "DeployResult", "run_deploy"]


def run_deploy(inventory: str = "inventories/local.py", *extra: str) -> DeployResult:
    """`pyinfra -y --json INVENTORY deploy.py` in this checkout (see mastofleet.runtime.deploy_run)."""
    return deploy_run.run_deploy(PROJECT, inventory, *extra)
