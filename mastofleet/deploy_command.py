"""`mastofleet deploy INVENTORY`: check the fleet, then run pyinfra's deploy.py on it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from mastofleet.fleet import load_fleet, project_directory
from mastofleet.problems import InventoryError


def parse_data(data: list[str]) -> dict[str, Any]:
    """`--data KEY=VALUE` items as pyinfra reads them (JSON, numbers and booleans parsed)."""
    from pyinfra_cli.util import parse_cli_arg

    parsed = {}
    for item in data:
        if "=" not in item:
            raise InventoryError(f"--data {item}: expected KEY=VALUE")
        key, value = item.split("=", 1)
        parsed[key] = parse_cli_arg(value)
    return parsed


def run_deploy(inventory: str, data: list[str], limit: list[str]) -> int:
    load_fleet(
        inventory, override_data=parse_data(data)
    )  # every problem reported here, before pyinfra connects anywhere
    project = project_directory(inventory)
    command = [str(Path(sys.executable).with_name("pyinfra")), "-y", str(Path(inventory).resolve()), "deploy.py"]
    for item in data:
        command += ["--data", item]
    for item in limit:
        command += ["--limit", item]
    return subprocess.run(command, cwd=project, check=False).returncode
