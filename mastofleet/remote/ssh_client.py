"""The one SSH client for the commands that act on fleet hosts (status, doctor, backup, db, cutover,
media, upgrade, the fleet lock): paramiko, with the inventory's connection settings.

Host keys are checked as pyinfra checks them, from the same data: `ssh_known_hosts_file` (default
~/.ssh/known_hosts) and `ssh_strict_host_key_checking` ("accept-new" by default: a host seen for the
first time is recorded there, and from then on a different key is refused; "yes": only recorded
hosts; "no", or the file /dev/null: not checked, which only the local test fleets set).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import paramiko

DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"


class RecordNewHostKey(paramiko.MissingHostKeyPolicy):
    """accept-new: a host never seen is recorded in the known-hosts file; a known one must match
    (paramiko itself refuses a different key: BadHostKeyException)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        client.get_host_keys().add(hostname, key.get_name(), key)
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with self.path.open("a") as known:
            known.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")
        os.chmod(self.path, 0o600)


def _check_host_keys(client: paramiko.SSHClient, data: dict[str, Any]) -> None:
    strict = str(data.get("ssh_strict_host_key_checking") or "accept-new").lower()
    known = str(data.get("ssh_known_hosts_file") or DEFAULT_KNOWN_HOSTS)
    if strict == "no" or known == "/dev/null":
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())  # noqa: S507 - the inventory says so
        return
    path = Path(known).expanduser()
    if path.is_file():
        client.load_host_keys(str(path))
    client.set_missing_host_key_policy(paramiko.RejectPolicy() if strict == "yes" else RecordNewHostKey(path))


def ssh_client(data: dict[str, Any]) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    _check_host_keys(client, data)
    port = int(data.get("ssh_port") or 22)
    client.connect(
        data.get("ssh_hostname") or "",
        port=port,
        username=data.get("ssh_user") or "root",
        key_filename=data.get("ssh_key"),
        timeout=10,
        allow_agent=True,
        look_for_keys=data.get("ssh_key") is None,
    )
    return client
