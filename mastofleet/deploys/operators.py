"""Operators: an account per person with their own SSH keys and sudo, and sshd that takes keys only."""

from __future__ import annotations

from pyinfra import host as current_host
from pyinfra.api import FactBase
from pyinfra.api.exceptions import PyinfraError
from pyinfra.operations import server

from mastofleet.deploys.component import Component, Run, Stage, everywhere, in_service
from mastofleet.deploys.operations import changed, put_files, role_deploy
from mastofleet.model import Fleet, Host
from mastofleet.quoting import shell
from mastofleet.views.config_file import ConfigFile, SecretValues
from mastofleet.views.templating import render

SSHD_FILE = "/etc/ssh/sshd_config.d/50-mastofleet.conf"
SUDOERS_FILE = "/etc/sudoers.d/mastofleet-operators"
# Both are checked before they go in place (`placed_file`): a broken sudoers or sshd file would
# lock the operators out. sshd is checked with the new file read first, as its Include will be.
SUDOERS_CHECK = "visudo -cq -f {path}"
SSHD_CHECK = (
    "printf 'Include %s\\nInclude /etc/ssh/sshd_config\\n' {path} > {path}.sshd"
    " && sshd -t -f {path}.sshd; checked=$?; rm -f {path}.sshd; [ $checked = 0 ]"
)


def files_for(fleet: Fleet, host: Host, secrets: SecretValues) -> list[ConfigFile]:
    context = {"fleet": fleet, "access": fleet.access}
    return [
        ConfigFile(SSHD_FILE, render("operators/sshd.conf.j2", **context), check=SSHD_CHECK),
        ConfigFile(SUDOERS_FILE, render("operators/sudoers.j2", **context), mode="440", check=SUDOERS_CHECK),
    ]


class GroupMembers(FactBase[list[str]]):
    """The accounts whose supplementary groups include `group` (empty when the group does not exist)."""

    def command(self, group: str) -> str:
        return f"getent group {shell(group)} | cut -d: -f4 || true"

    def process(self, output: list[str]) -> list[str]:
        text = ",".join(line.strip() for line in output)
        return sorted({name for name in text.split(",") if name})


def removed_operators(fleet: Fleet, members: list[str]) -> list[str]:
    """Accounts in the operators' group that the model no longer names."""
    names = {operator.name for operator in fleet.operators}
    return [member for member in members if member not in names]


@role_deploy("Operators")
def operators(fleet: Fleet, host: Host) -> None:
    """
    Give each operator of the model an account of their own: their SSH keys only (keys not in the
    model are removed), sudo without a password (the accounts have none), in the operators' group.
    An account in that group that the model no longer names is removed, with its home. sshd then
    takes public keys only, and root only when `access.root_login` is on; it is checked (`sshd -t`)
    before the reload, which keeps open sessions.
    """
    group = fleet.access.operator_group
    server.group(name=f"Create the group {group}", group=group)
    for operator in fleet.operators:
        server.user(
            name=f"Account of operator {operator.name}",
            user=operator.name,
            shell="/bin/bash",
            groups=[group],
            create_home=True,
            public_keys=operator.ssh_keys,
            delete_keys=True,
        )
    members = current_host.get_fact(GroupMembers, group=group) or []
    connected_as = current_host.data.get("ssh_user")
    for name in removed_operators(fleet, members):
        if name == connected_as:
            raise PyinfraError(
                f"{host.name}: the model no longer names operator '{name}', the account this deploy is logged in as;"
                " deploy as another operator to remove it"
            )
        server.shell(
            name=f"Remove operator {name} (no longer in the model)",
            # Sessions and the user's systemd instance end cleanly first: a killed one would stay a failed unit.
            commands=[
                f"uid=$(id -u {shell(name)}) && (loginctl terminate-user {shell(name)} 2>/dev/null || true)"
                f" && (pkill -KILL -u {shell(name)} || true) && userdel --force --remove {shell(name)}"
                " && (systemctl reset-failed user@$uid.service user-runtime-dir@$uid.service 2>/dev/null || true)"
            ],
        )
    uploaded = put_files(files_for(fleet, host, SecretValues()))
    sshd = uploaded.of(SSHD_FILE)
    server.shell(
        name="Check and reload sshd (open sessions stay)",
        commands=["sshd -t", "systemctl reload ssh"],
        _if=changed(sshd),
    )


def _system(run: Run) -> None:
    if in_service(run.host):
        operators(run.fleet, run.host)


COMPONENT = Component(name="operators", applies=everywhere, files=files_for, steps={Stage.SYSTEM: _system})
