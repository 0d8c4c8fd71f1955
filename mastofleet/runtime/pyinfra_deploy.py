"""Check the fleet, then run pyinfra's deploy.py on it: `mastofleet deploy`, and the deploys that
upgrade, rollback, `media finish`, `secrets rotate` and the cutover start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from mastofleet.model import Instance
from mastofleet.model.problems import InventoryError
from mastofleet.project.fleet import load_fleet, project_directory
from mastofleet.project.secrets import SecretStore


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


def preflight(inventory: str, data: list[str]) -> None:
    """Everything that can be refused before pyinfra connects anywhere: the fleet's rules, every
    secret it references (decrypted, in memory only), and the code of the version to deploy."""
    fleet, loaded = load_fleet(inventory, override_data=parse_data(data))
    project = project_directory(inventory)
    store = SecretStore.for_fleet_data(next(iter(loaded)).data.dict(), project)
    store.reveal_all(sorted(fleet.referenced_secrets()))
    check_code_source(fleet.instance, project)


def check_code_source(instance: Instance, project: str) -> None:
    """The version's code must exist: a directory for a path source, a tag (or ref) for git."""
    source = instance.source
    if source.path:
        directory = Path(project) / source.path
        if not directory.is_dir():
            raise InventoryError(f"instance.source.path: {directory} is not a directory: nothing to deploy")
        return
    if not source.git_url:
        return
    ref = source.ref or instance.version
    try:
        answer = subprocess.run(
            ["git", "ls-remote", "--tags", "--heads", source.git_url],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        # Unreachable from here (the hosts may still reach it): the checkout on the app hosts then
        # fails before anything is switched.
        print(f"mastofleet: cannot list the refs of {source.git_url} from here; the app hosts will check {ref}")
        return
    refs = {line.split("\t", 1)[1] for line in answer.splitlines() if "\t" in line}
    names = {ref_name.rsplit("/", 1)[-1].removesuffix("^{}") for ref_name in refs}
    if ref not in names:
        nearest = sorted(name for name in names if name.startswith(ref[:3]))[-5:]
        raise InventoryError(
            f"{ref} is not a tag or branch of {source.git_url}"
            + (f" (latest similar: {', '.join(nearest)})" if nearest else "")
            + ": check the version (instance.version or --version); nothing was changed"
        )


def run_deploy(inventory: str, data: list[str], limit: list[str]) -> int:
    preflight(inventory, data)
    project = project_directory(inventory)
    command = [str(Path(sys.executable).with_name("pyinfra")), "-y", str(Path(inventory).resolve()), "deploy.py"]
    for item in data:
        command += ["--data", item]
    for item in limit:
        command += ["--limit", item]
    return subprocess.run(command, cwd=project, check=False).returncode
