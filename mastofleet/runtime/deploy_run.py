"""Run `deploy.py` on an inventory in a project and count, from pyinfra's own results, what changed
where (the Vagrant dry run and the tests both ask "did the second deploy change nothing?")."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class DeployResult:
    returncode: int
    seconds: float
    changed: dict[str, list[str]] = field(default_factory=dict)  # host -> names of changed operations
    failed: dict[str, list[str]] = field(default_factory=dict)
    output: str = ""

    @property
    def changed_count(self) -> int:
        return sum(len(names) for names in self.changed.values())


def run_deploy(project: Path, inventory: str, *extra: str) -> DeployResult:
    """`pyinfra -y --json INVENTORY deploy.py` in ``project``; results are taken from the JSON, not the log text."""
    pyinfra = str(Path(sys.executable).with_name("pyinfra"))
    started = time.monotonic()
    completed = subprocess.run(
        [pyinfra, "-y", "--json", inventory, "deploy.py", *extra],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.monotonic() - started
    result = DeployResult(completed.returncode, seconds, output=completed.stderr[-20000:])
    try:
        payload = json.loads(completed.stdout)
    except ValueError:
        return result
    for operation in (payload.get("results") or {}).get("operations", []):
        for host in operation["success"]:
            result.changed.setdefault(host, []).append(operation["name"])
        for host in operation["error"]:
            result.failed.setdefault(host, []).append(operation["name"])
    return result
