"""How commands reach a fleet host over SSH (`mastofleet.remote.Remote`, used by the cutover,
`db status` and the backup commands): as root directly, through `sudo -n` when the inventory logs in
as an operator. paramiko's client is replaced by a recorder; no host is involved."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import pytest

from mastofleet.remote import Remote, RemoteError, logs_in_as_root


@dataclass
class Channel:
    status: int

    def recv_exit_status(self) -> int:
        return self.status


class Output(io.BytesIO):
    def __init__(self, data: bytes, status: int) -> None:
        super().__init__(data)
        self.channel = Channel(status)


@dataclass
class Client:
    """Answers every command with `output` and `status`; keeps the commands."""

    output: bytes = b""
    status: int = 0
    error: bytes = b""
    commands: list[str] = field(default_factory=list)

    def exec_command(self, command: str, timeout: float) -> tuple[None, Output, Output]:
        self.commands.append(command)
        return None, Output(self.output, self.status), Output(self.error, self.status)


def test_root_runs_the_command_itself() -> None:
    client = Client(output=b"done\n")
    assert Remote("nixie", client).run("systemctl stop mastodon-web.service") == "done\n"  # type: ignore[arg-type]
    assert client.commands == ["systemctl stop mastodon-web.service"]


def test_an_operator_runs_it_through_sudo_without_a_password_prompt() -> None:
    client = Client()
    Remote("nixie", client, sudo=True).run("ln -sfn a 'b c'")  # type: ignore[arg-type]
    assert client.commands == ["sudo -n sh -c 'ln -sfn a '\"'\"'b c'\"'\"''"]


def test_psql_runs_as_postgres_either_way() -> None:
    for sudo in (False, True):
        client = Client(output=b"t\t170012\n")
        rows = Remote("nixie", client, sudo=sudo).psql("SELECT 1")  # type: ignore[arg-type]
        assert rows == [["t", "170012"]]
        assert "runuser -u postgres" in client.commands[0] and client.commands[0].startswith("sudo -n") == sudo


def test_a_failed_command_names_the_host_the_command_and_what_it_printed() -> None:
    client = Client(status=1, error=b"sudo: a password is required\n")
    with pytest.raises(RemoteError) as failed:
        Remote("freud", client, sudo=True).run("systemctl stop mastodon-web.service")  # type: ignore[arg-type]
    assert "freud" in str(failed.value) and "systemctl stop" in str(failed.value)
    assert "a password is required" in str(failed.value)


def test_who_logs_in_as_root() -> None:
    assert logs_in_as_root({}) and logs_in_as_root({"ssh_user": "root"})
    assert not logs_in_as_root({"ssh_user": "deploy"})


class Silent(io.BytesIO):
    """A host that stopped answering: reading its output times out, as paramiko's channel does."""

    def read(self, size: int | None = -1) -> bytes:
        raise TimeoutError


class SilentClient(Client):
    def exec_command(self, command: str, timeout: float) -> tuple[None, Output, Output]:
        self.commands.append(command)
        return None, Silent(), Silent()  # type: ignore[return-value]


def test_a_timeout_is_the_commands_error_not_a_traceback() -> None:
    with pytest.raises(RemoteError) as failed:
        Remote("nixie", SilentClient()).run("pg_basebackup ...", timeout=30)  # type: ignore[arg-type]
    assert str(failed.value) == "nixie: `pg_basebackup ...` did not finish: no answer within 30 s"
