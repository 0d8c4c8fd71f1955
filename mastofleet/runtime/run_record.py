"""Run records, the seed's changelogs: every deploy leaves a note of what it changed, and where.

On the operator's machine: `runs/<run id>.json` in the project (who, when, git revision of the
deploy code, inventory, and per host the operations that changed or failed). On each host that
changed: `/var/lib/mastofleet/runs/<run id>.json` with that host's part.
"""

from __future__ import annotations

import atexit
import getpass
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from functools import cache
from io import StringIO
from pathlib import Path
from typing import Any

from pyinfra import host as current_host
from pyinfra import state as current_state
from pyinfra.operations import python

from mastofleet.project.fleet import fleet_host_name

HOST_DIRECTORY = "/var/lib/mastofleet/runs"


def _git(*arguments: str) -> str:
    try:
        return subprocess.run(["git", *arguments], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


@cache
def run_header() -> dict[str, Any]:
    """Who runs what, from where: the same for every host of one run."""
    started = datetime.now(UTC)
    revision = _git("rev-parse", "HEAD")
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    inventory = next((argument for argument in sys.argv[1:] if argument.endswith(".py")), "")
    return {
        "run": started.strftime("%Y%m%dT%H%M%SZ") + f"-{os.getpid()}",
        "started": started.isoformat(),
        "operator": os.environ.get("SUDO_USER") or getpass.getuser(),
        "operator_name": _git("config", "user.name"),
        "revision": revision + ("-dirty" if dirty else ""),
        "inventory": inventory,
        "command": " ".join(Path(sys.argv[0]).name.split() + sys.argv[1:]),
    }


def _host_operations(host: Any) -> dict[str, list[str]]:
    """Names of this host's operations that changed something or failed, so far."""
    changed, failed = [], []
    for op_hash, host_data in current_state.ops.get(host, {}).items():
        meta = host_data.operation_meta
        if not meta.is_complete():
            continue
        # op_meta.names holds every host's name for this operation: keep this host's own
        own = host_data.global_arguments.get("name")
        names = sorted(current_state.op_meta[op_hash].names)
        name = next((candidate for candidate in names if own and candidate.endswith(str(own))), ", ".join(names))
        if not meta.did_succeed(_raise_if_not_complete=False):
            failed.append(name)
        elif meta.did_change():
            changed.append(name)
    return {"changed": changed, "failed": failed}


def _write_on_host() -> None:
    # The fleet's name for the host (`@vagrant/nixie` is nixie), as every other report names it.
    record = {**run_header(), "host": fleet_host_name(current_host.name), **_host_operations(current_host)}
    path = f"{HOST_DIRECTORY}/{record['run']}.json"
    current_host.run_shell_command(f"mkdir -p {HOST_DIRECTORY} && chmod 750 {HOST_DIRECTORY}", _sudo=True)
    current_host.put_file(StringIO(json.dumps(record, indent=2) + "\n"), path, _sudo=True)


def record_on_host() -> None:
    """Add, as this host's last operation, the record of what this run changed on it (only if anything did)."""
    _register_operator_record()
    python.call(
        name="Record this run on the host",
        function=_write_on_host,
        _if=lambda: bool(_host_operations(current_host)["changed"]),
    )


@cache
def _register_operator_record() -> None:
    atexit.register(_write_operator_record)


def _write_operator_record() -> None:
    from pyinfra.context import ctx_state

    if not ctx_state.isset():
        return  # not inside a pyinfra run (e.g. plans built by tests)
    hosts = {fleet_host_name(host.name): _host_operations(host) for host in current_state.inventory}
    if not any(meta.is_complete() for data in current_state.ops.values() for meta in _metas(data)):
        return  # a dry run or a refused deploy: nothing ran, nothing to record
    record = {**run_header(), "finished": datetime.now(UTC).isoformat(), "hosts": hosts}
    directory = Path(os.getcwd()) / "runs"
    directory.mkdir(exist_ok=True)
    (directory / f"{record['run']}.json").write_text(json.dumps(record, indent=2) + "\n")


def _metas(host_operations: dict[str, Any]) -> list[Any]:
    return [data.operation_meta for data in host_operations.values()]
