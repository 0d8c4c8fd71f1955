"""Commands on a fleet host over SSH, with the inventory's connection settings: as root directly, or
through `sudo -n` when the inventory logs in as an operator (the deploy's own way since operators
exist). Used by the cutover, `db status`, the backup, media and upgrade commands."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import paramiko

from mastofleet.remote.ssh_client import ssh_client


class RemoteError(Exception):
    """A host could not be reached, or a command on it failed; the message says which and why."""


@dataclass
class Remote:
    """An SSH session to one host that runs shell commands (as root: through `sudo -n` when the
    inventory logs in as an operator) and psql as postgres."""

    name: str
    client: paramiko.SSHClient
    sudo: bool = False

    def run(self, command: str, timeout: float = 60, as_user: str | None = None) -> str:
        if as_user:
            command = f"sudo -n -u {as_user} sh -c {shlex.quote(command)}"
        elif self.sudo:
            command = f"sudo -n sh -c {shlex.quote(command)}"
        try:
            _, stdout, stderr = self.client.exec_command(command, timeout=timeout)
            output = stdout.read().decode(errors="replace")
            status = stdout.channel.recv_exit_status()
        except (TimeoutError, paramiko.SSHException, OSError) as error:
            # a timeout or a dropped connection is this command's failure, named, never a traceback
            reason = f"no answer within {timeout:.0f} s" if isinstance(error, TimeoutError) else str(error)
            raise RemoteError(
                f"{self.name}: `{command[:160]}` did not finish: {reason or type(error).__name__}"
            ) from error
        if status != 0:
            message = stderr.read().decode(errors="replace").strip() or output.strip()
            raise RemoteError(f"{self.name}: `{command[:160]}` failed ({status}): {message[-3000:]}")
        return output

    def psql(self, sql: str, database: str = "postgres", timeout: float = 60) -> list[list[str]]:
        """Rows of `sql`, each a list of its columns as text (NULL is empty)."""
        psql = f"psql -XAtq -F '\t' -d {shlex.quote(database)} -c {shlex.quote(sql)}"
        command = f'if [ "$(id -u)" = 0 ]; then runuser -u postgres -- {psql}; else sudo -n -u postgres {psql}; fi'
        return [line.split("\t") for line in self.run(command, timeout).splitlines() if line != ""]

    def value(self, sql: str, database: str = "postgres") -> str:
        rows = self.psql(sql, database)
        return rows[0][0] if rows and rows[0] else ""


def logs_in_as_root(data: dict[str, Any]) -> bool:
    return (data.get("ssh_user") or "root") == "root"


@contextmanager
def connected(name: str, data: dict[str, Any]) -> Iterator[Remote]:
    try:
        client = ssh_client(data)
    except Exception as error:  # paramiko raises many kinds; the operator needs the reason
        raise RemoteError(f"{name}: cannot connect by SSH to {data.get('ssh_hostname')}: {error}") from error
    try:
        yield Remote(name, client, sudo=not logs_in_as_root(data))
    finally:
        client.close()
