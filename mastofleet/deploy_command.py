"""`mastofleet deploy INVENTORY`: check the fleet, then run pyinfra's deploy.py on it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mastofleet.fleet import load_fleet, project_directory


def run_deploy(inventory: str, data: list[str], limit: list[str]) -> int:
    load_fleet(inventory)  # every problem reported here, before pyinfra connects anywhere
    project = project_directory(inventory)
    command = [str(Path(sys.executable).with_name("pyinfra")), "-y", str(Path(inventory).resolve()), "deploy.py"]
    for item in data:
        command += ["--data", item]
    for item in limit:
        command += ["--limit", item]
    return subprocess.run(command, cwd=project, check=False).returncode
