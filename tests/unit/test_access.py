"""The access rules: nobody locked out, operators distinct, backups kept private and over TLS; the
operators' and sshd's files; the restore point parsed before anything is touched."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from fleet_builder import build, default_fleet_data, problems_of

from mastofleet.deploys import operators
from mastofleet.model.problems import InventoryError
from mastofleet.plan.files import SecretValues
from mastofleet.remote.backups import parse_target, restore_script


def fields(hosts, common) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(problem.where, problem.field) for problem in problems_of(hosts, common)[0]]


def test_without_operators_and_root_login_nobody_could_log_in() -> None:
    hosts, common = default_fleet_data()
    common["operators"] = []
    assert fields(hosts, common) == [("access", "root_login"), ("firewall", "enabled")]
    common["access"] = {"root_login": True, "ssh_sources": ["10.0.0.0/8"]}
    assert build(hosts, common).operators == []


def test_two_operators_may_not_share_a_key_or_a_name() -> None:
    hosts, common = default_fleet_data()
    common["operators"][1]["ssh_keys"] = common["operators"][0]["ssh_keys"]
    common["operators"].append(dict(common["operators"][0]))
    problems = fields(hosts, common)
    assert ("operators", "alice") in problems and ("operators", "bob.ssh_keys") in problems


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("root", ("operators", "root")),
        ("postgres", ("operators", "postgres")),
        ("mastodon", ("operators", "mastodon")),
        ("Alice", ("fleet", "operators[Alice].name")),
        ("a b", ("fleet", "operators[a b].name")),
    ],
)
def test_an_operator_cannot_be_a_system_account_or_a_bad_name(name: str, problem: tuple[str, str]) -> None:
    hosts, common = default_fleet_data()
    common["operators"][0]["name"] = name
    assert problem in fields(hosts, common)


def test_a_private_key_pasted_as_an_operator_key_is_refused_without_echoing_it() -> None:
    hosts, common = default_fleet_data()
    common["operators"][0]["ssh_keys"] = ["-----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXktdjEAAAAA"]
    problems, text = problems_of(hosts, common)
    assert [(p.where, p.field) for p in problems] == [("fleet", "operators[alice].ssh_keys")]
    assert "b3BlbnNzaC1rZXktdjEAAAAA" not in text


def test_backups_need_tls_and_a_bucket_of_their_own() -> None:
    hosts, common = default_fleet_data()
    common["backup"] = {"bucket": common["object_storage"]["bucket"], "endpoint": "http://10.0.3.4:9000"}
    assert fields(hosts, common) == [("backup", "endpoint"), ("backup", "bucket")]


def test_backup_keys_are_references_to_secrets() -> None:
    hosts, common = default_fleet_data()
    common["backup"] = {"bucket": "b", "access_key": "AKIAPLAINTEXT"}
    problems, text = problems_of(hosts, common)
    assert ("fleet", "backup.access_key") in [(p.where, p.field) for p in problems]
    assert "AKIAPLAINTEXT" not in text


def rendered(root_login: bool) -> dict[str, str]:
    hosts, common = default_fleet_data()
    common["access"] = {"root_login": root_login}
    fleet = build(hosts, common)
    return {item.path: item.content for item in operators.files_for(fleet, fleet.host("esme"), SecretValues())}


def test_sshd_takes_keys_only_and_root_as_the_model_says() -> None:
    off, on = rendered(False)[operators.SSHD_FILE], rendered(True)[operators.SSHD_FILE]
    for text in (off, on):
        assert "PasswordAuthentication no" in text and "KbdInteractiveAuthentication no" in text
    assert "PermitRootLogin no" in off and "PermitRootLogin prohibit-password" in on


def test_sshd_and_sudo_accept_the_rendered_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    files = rendered(False)
    if shutil.which("visudo"):
        sudoers = tmp_path / "sudoers"
        sudoers.write_text(files[operators.SUDOERS_FILE])
        result = subprocess.run(["visudo", "-cf", str(sudoers)], capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
    if not shutil.which("sshd"):
        pytest.skip("sshd is not installed here; the fleet test checks sshd -T on the hosts")
    config = tmp_path / "sshd_config"
    config.write_text(files[operators.SSHD_FILE])
    result = subprocess.run(["sshd", "-t", "-f", str(config)], capture_output=True, text=True, check=False)
    assert result.returncode == 0 or "no hostkeys" in result.stderr, result.stderr


def test_an_operator_the_model_no_longer_names_is_removed() -> None:
    fleet = build(*default_fleet_data())
    assert operators.removed_operators(fleet, ["alice", "bob", "carol"]) == ["carol"]


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("2026-01-02 03:04:05", "2026-01-02 03:04:05.000000+00"),
        ("2026-01-02T05:04:05+02:00", "2026-01-02 03:04:05.000000+00"),
    ],
)
def test_a_restore_point_is_taken_as_utc(text: str, wanted: str) -> None:
    assert parse_target(text) == wanted


@pytest.mark.parametrize("text", ["yesterday", "2999-01-01 00:00:00"])
def test_a_bad_restore_point_is_refused_before_anything_happens(text: str) -> None:
    with pytest.raises(InventoryError):
        parse_target(text)


def test_the_restore_keeps_the_old_data_directory_and_promotes() -> None:
    hosts, common = default_fleet_data()
    fleet = build(hosts, common)
    script = restore_script(fleet, "2026-01-02 03:04:05.000000+00", "20260102T030405Z")
    steps = script.split(" && ")
    assert steps[0] == "systemctl stop pgbouncer" and steps[-1] == "systemctl start pgbouncer"
    assert "mv /var/lib/postgresql/17/main /var/lib/postgresql/17/main.before-restore-20260102T030405Z" in script
    assert "--type=time --target='2026-01-02 03:04:05.000000+00' --target-action=promote restore" in script
