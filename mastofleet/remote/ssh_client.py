"""The one SSH client for the commands that act on fleet hosts (status, doctor, backup, db, cutover,
media, upgrade): paramiko, with the inventory's connection settings."""

from __future__ import annotations

from typing import Any

import paramiko


def ssh_client(data: dict[str, Any]) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())  # noqa: S507 - addresses come from our inventory
    client.connect(
        data.get("ssh_hostname") or "",
        port=int(data.get("ssh_port") or 22),
        username=data.get("ssh_user") or "root",
        key_filename=data.get("ssh_key"),
        timeout=10,
        allow_agent=True,
        look_for_keys=data.get("ssh_key") is None,
    )
    return client
