"""Operators on every host: an account per person with exactly their keys, sudo without a password,
no password of their own; sshd takes keys only and root only as the model says."""

from __future__ import annotations

import shlex

import paramiko
import pytest
from infra_support import Target, assert_files_as_rendered

from mastofleet.deploys import operators
from mastofleet.plan.files import SecretValues


def test_operator_files(any_host: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    assert_files_as_rendered(any_host, operators.files_for(fleet, any_host.model, SecretValues()))


def test_each_operator_has_an_account_with_exactly_their_keys(any_host: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    if not fleet.operators:
        pytest.skip("the model names no operator")
    group = fleet.access.operator_group
    members = any_host.output(f"getent group {group} | cut -d: -f4").strip().split(",")
    assert sorted(members) == sorted(operator.name for operator in fleet.operators), f"{any_host.name}: {members}"
    for operator in fleet.operators:
        name = shlex.quote(operator.name)
        keys = any_host.output(f"cat ~{operator.name}/.ssh/authorized_keys").split("\n")
        assert sorted(line for line in keys if line.strip()) == sorted(operator.ssh_keys), f"{any_host.name}: {name}"
        password = any_host.output(f"getent shadow {name} | cut -d: -f2").strip()
        assert password.startswith(("!", "*")), f"{any_host.name}: {operator.name} has a usable password"
        sudo = any_host.output(f"sudo -n -l -U {name}")
        assert "NOPASSWD: ALL" in sudo, f"{any_host.name}: {operator.name} may not sudo without a password"


def test_sshd_takes_keys_only(any_host: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    settings = dict(line.split(None, 1) for line in any_host.output("sshd -T 2>/dev/null").splitlines() if " " in line)
    assert settings["passwordauthentication"] == "no"
    assert settings["kbdinteractiveauthentication"] == "no"
    assert settings["permitemptypasswords"] == "no"
    # sshd -T spells prohibit-password by its old name
    wanted = ("without-password", "prohibit-password") if fleet.access.root_login else ("no",)
    assert settings["permitrootlogin"] in wanted


def test_a_password_is_never_asked_for(any_host: Target, fleet_ready) -> None:  # type: ignore[no-untyped-def]
    """From the test machine: the server offers public keys only, for an operator and for root."""
    address = fleet_ready.address_of(any_host.name)
    for user in ("root", *(operator.name for operator in fleet_ready.fleet.operators)):
        transport = paramiko.Transport((address, 22))
        try:
            transport.start_client(timeout=10)
            with pytest.raises(paramiko.BadAuthenticationType) as refused:
                transport.auth_password(user, "not-the-password")
            assert refused.value.allowed_types == ["publickey"], f"{any_host.name}: {user}: {refused.value}"
        finally:
            transport.close()
