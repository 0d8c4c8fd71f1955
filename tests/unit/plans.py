"""Planning deploy.py for one host of a fleet through pyinfra's `@fake` connector (see test_deploy_plan)."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any

import pytest
from disk_probes import probe_output
from fleet_builder import SECRET_NAMES
from pyinfra.api import Config, FileUploadCommand, Inventory, State
from pyinfra.api.connect import connect_all
from pyinfra.api.deploy import add_deploy
from pyinfra.connectors.fake import FakeConnector
from pyinfra.context import ctx_host, ctx_inventory, ctx_state

from mastofleet.model.secrets_reference import environment_variable
from mastofleet.runtime import deployment, run_record
from mastofleet.views.disk_probe import MARKER

CANARY = "canary-4b1d"
SECRET_VALUES = {name: f"{CANARY}-{name}" for name in SECRET_NAMES}
HEALTHY_DISK = probe_output().splitlines()  # what the disk check before PostgreSQL reads on the db host
BASE_RESPONSES: dict[Any, Any] = {
    "uname -s": "Linux",
    re.compile(r"command -v (useradd|usermod|groupadd)"): "/usr/sbin/x",
    MARKER: HEALTHY_DISK,
}
SECRET_FILES = {"/etc/mastodon/env.production", "/etc/pgbouncer/userlist.txt", "/etc/redis/redis.conf"}
RELEASE = "/home/mastodon/releases/v4.6.5"
STEPS = "/var/lib/mastofleet/release/steps/v4.6.5"  # root's markers of the release's finished steps
PRECOMPILE = "Mastodon release | assets: bin/rails assets:precompile ({})"
DB_SETUP = "Mastodon release | Set up the database (first install only; never on a database that has a schema)"


def as_user_script(command: str, user: str = "mastodon") -> tuple[str, str]:
    """The script and working directory of a root command that runs it as `user`
    (`quoting.as_user_command`): what the user's shell gets, unquoted once."""
    words = shlex.split(command)
    start = words.index("runuser")
    assert words[start : start + 6] == ["runuser", "-u", user, "--", "sh", "-c"], command
    directory, _, script = words[start + 6].partition(" && ")
    assert directory.startswith("cd "), command
    return shlex.split(directory)[1], script


def existing_file(path: str) -> dict[re.Pattern, str]:
    """A fake answer to pyinfra's File fact: `path` exists and is a regular file."""
    return {
        re.compile(rf"test -e {re.escape(path)} "): (
            f"user=mastodon group=mastodon mode=-rw-r--r-- atime=0 mtime=0 ctime=0 size=0 '{path}'"
        )
    }


@dataclass
class Plan:
    """The operations pyinfra planned for one host, in order."""

    state: State
    host: Any
    operations: list[tuple[str, Any]]

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.operations]

    def operation(self, name: str) -> Any:
        (data,) = [data for op_name, data in self.operations if op_name == name]
        return data

    def commands(self, name: str) -> list[Any]:
        return self.commands_of(self.operation(name))

    def uploaded(self, name: str) -> str:
        """What the operation uploads (a placed file goes up to root's staging directory first)."""
        (upload,) = [command for command in self.commands(name) if isinstance(command, FileUploadCommand)]
        return upload.src.getvalue()

    def commands_of(self, data: Any) -> list[Any]:
        """The commands an operation would run, generated as pyinfra does when it executes it."""
        with ctx_state.use(self.state), ctx_host.use(self.host):
            return list(data.command_generator())

    def all_commands(self) -> list[tuple[str, Any]]:
        return [(name, command) for name, data in self.operations for command in self.commands_of(data)]


def make_inventory(hosts: list[dict], common: dict, responses: dict[str, dict] | None = None) -> Inventory:
    responses = responses or {}
    names_data = [
        (
            f"@fake/{host['name']}",
            {
                **host["data"],
                "fake_delay": 0,
                "fake_delay_jitter": 0,
                # a test's own answer wins over the base one for the same command
                "fake_responses": {**BASE_RESPONSES, **responses.get(host["name"], {})},
            },
        )
        for host in hosts
    ]
    groups: dict[str, list[str]] = {}
    for host in hosts:
        for group in host["groups"]:
            groups.setdefault(group, []).append(f"@fake/{host['name']}")
    return Inventory((names_data, common), **{group: (names, {}) for group, names in groups.items()})


def plan_host(name: str, hosts: list[dict], common: dict, responses: dict[str, dict] | None = None) -> Plan:
    # deployment caches the fleet under id() of pyinfra's inventory *proxy*, which is the same object for
    # every inventory (see the xfail below); clear it so each plan validates its own fleet.
    deployment._fleet_and_secrets.cache_clear()
    inventory = make_inventory(hosts, common, responses)
    state = State(inventory=inventory, config=Config())
    connect_all(state)
    host = inventory.get_host(f"@fake/{name}")
    assert isinstance(host.connector, FakeConnector)
    with ctx_inventory.use(inventory):
        add_deploy(state, deployment.deploy_current_host, host=host)
    planned = []
    for op_hash in host.op_hash_order:
        (op_name,) = state.op_meta[op_hash].names
        planned.append((op_name, state.get_op_data_for_host(host, op_hash)))
    return Plan(state, host, planned)


@pytest.fixture
def secrets_in_environment(monkeypatch, tmp_path):
    """Every secret as MASTOFLEET_SECRET_*, and a cwd without a secrets file: no age key is needed."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(run_record, "_register_operator_record", lambda: None)
    for name, value in SECRET_VALUES.items():
        monkeypatch.setenv(environment_variable(name), value)
