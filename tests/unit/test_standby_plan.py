"""Deploy plans of the replica-building piece (`mastofleet.deploys.standby`), on `@fake` hosts.

One piece builds both kinds of standby: a db_replica host following the fleet's primary, and the
db host following an old primary outside the fleet while the database migrates. Facts are scripted
with `fake_responses`: whether the host already is a standby of its upstream, how many tables its
database holds, which replication slots the primary has. Nothing runs anywhere.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from fleet_builder import SECRET_NAMES, build, default_fleet_data
from plans import CANARY, plan_host
from pyinfra.api import FileUploadCommand, StringCommand
from pyinfra.api.exceptions import PyinfraError
from test_deploy_plan import make_fake_project, pyinfra_dry_json

from mastofleet.deploys import standby
from mastofleet.model.secrets_reference import environment_variable
from mastofleet.plan.files import SecretValues

REPLICA = {"name": "hermine", "groups": ["db_replica"], "data": {"private_address": "10.0.1.9"}}
BUILD = "Build streaming replicas that are not built yet (pg_basebackup into a slot, once)"
STANDBY_FACT = re.compile(r"IDENTIFY_SYSTEM")
TABLES_FACT = re.compile(r"SELECT count\(\*\) FROM pg_class")
ROLE_CHANGE = re.compile(r"Create the \w+ role|Set the password|Grant pg_monitor")


@pytest.fixture
def replication_secrets(secrets_in_environment, monkeypatch):  # type: ignore[no-untyped-def]
    for name in ("replication_password", "source_replication_password"):
        monkeypatch.setenv(environment_variable(name), f"{CANARY}-{name}")


def replica_fleet() -> tuple[list[dict], dict]:
    hosts, common = default_fleet_data()
    hosts.append(dict(REPLICA))
    return hosts, common


def migrating_fleet(**settings: object) -> tuple[list[dict], dict]:
    hosts, common = default_fleet_data()
    common["database_migration"] = {"source": "10.0.9.5", **settings}
    return hosts, common


def builds(plan) -> bool:  # type: ignore[no-untyped-def]
    """Whether the host runs the build script in the build operation (every db host plans it)."""
    commands = [command.get_raw_value() for command in plan.commands(BUILD)]
    assert commands in ([], [standby.BUILD_SCRIPT]), commands
    return bool(commands)


def test_a_new_replica_is_built_once_and_never_creates_roles(replication_secrets) -> None:
    hosts, common = replica_fleet()
    plan = plan_host("hermine", hosts, common)
    assert builds(plan), "a host that is not yet a standby is built"
    assert not [name for name in plan.names if ROLE_CHANGE.search(name)], "a standby gets its roles from upstream"
    assert "PostgreSQL read replica | PgBouncer | Install PgBouncer" in plan.names
    names = plan.names
    assert names.index(
        "PostgreSQL read replica | PostgreSQL | Put /etc/postgresql/17/main/conf.d/60-mastofleet-standby.conf"
    ) < names.index(BUILD)


def test_the_primary_and_its_replica_share_the_build_operation(tmp_path: Path) -> None:
    """In pyinfra's own order (the CLI's, across hosts): hosts wait for each other only at operations
    they share, so the primary and its replica plan the build as one operation, after the primary's
    replication role and pg_hba line; app hosts do not plan it."""
    fake_project = make_fake_project(tmp_path)
    inventory = fake_project / "inventory.py"
    inventory.write_text(
        inventory.read_text().replace("ADDRESSES = {", "ADDRESSES = {'hermine': '10.0.1.9', ")
        + 'db_replica = [_host("hermine")]\n'
    )
    result = pyinfra_dry_json(fake_project, {"replication_password": f"{CANARY}-replication_password"})
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)["plan"]
    names = [entry["name"] for entry in plan]
    (build,) = [entry for entry in plan if entry["name"] == BUILD]
    assert set(build["hosts_with_change"]) | set(build["hosts_with_conditional_change"]) == {"@fake/hermine"}
    assert names.index("PostgreSQL | Set the password of the replicator role (not shown)") < names.index(BUILD)
    assert names.index("PostgreSQL | Put /etc/postgresql/17/main/pg_hba.conf") < names.index(BUILD)
    assert CANARY not in result.stdout + result.stderr


def test_a_replica_of_its_upstream_is_not_built_again(replication_secrets) -> None:
    hosts, common = replica_fleet()
    plan = plan_host("hermine", hosts, common, {"hermine": {STANDBY_FACT: "standby-of-upstream\nchecked"}})
    assert not builds(plan)


def test_the_build_script_and_settings_carry_no_password(replication_secrets) -> None:
    hosts, common = replica_fleet()
    plan = plan_host("hermine", hosts, common)
    uploads = {}
    for name, command in plan.all_commands():
        if isinstance(command, FileUploadCommand):
            uploads[name] = command.src.getvalue()
        elif isinstance(command, StringCommand):
            assert CANARY + "-replication" not in command.get_raw_value(), name
    passfile = (
        "PostgreSQL read replica | PostgreSQL | Put /var/lib/postgresql/.mastofleet-upstream.pgpass (secret, not shown)"
    )
    assert uploads[passfile] == f"10.0.1.2:5432:*:replicator:{CANARY}-replication_password\n"
    script = uploads["PostgreSQL read replica | PostgreSQL | Put /usr/local/sbin/mastofleet-build-standby"]
    settings = uploads[
        "PostgreSQL read replica | PostgreSQL | Put /etc/postgresql/17/main/conf.d/60-mastofleet-standby.conf"
    ]
    for text in (script, settings):
        assert CANARY not in text
        assert f"passfile={standby.PASSFILE}" in text and "sslmode=require" in text
    assert "primary_slot_name = 'mastofleet_hermine'" in settings
    assert "application_name=hermine" in settings
    assert "pg_basebackup" in script and '-C -S "$slot"' in script and "standby.signal" in script


def test_the_primary_gets_the_replication_role_and_keeps_only_its_replicas_slots(replication_secrets) -> None:
    hosts, common = replica_fleet()
    slots = {re.compile(r"FROM pg_replication_slots WHERE slot_name LIKE"): "mastofleet_hermine\nmastofleet_helga"}
    plan = plan_host("nixie", hosts, common, {"nixie": slots})
    assert "PostgreSQL | Create the replicator role (replication only)" in plan.names
    assert "PostgreSQL | Set the password of the replicator role (not shown)" in plan.names
    dropped = [name for name in plan.names if name.startswith("PostgreSQL | Drop the replication slot")]
    assert dropped == [
        "PostgreSQL | Drop the replication slot mastofleet_helga (its replica is no longer in the fleet)"
    ]
    (command,) = plan.commands(dropped[0])
    assert "pg_terminate_backend" in command.get_raw_value() and "mastofleet_hermine" not in command.get_raw_value()


def test_a_fleet_without_replicas_has_no_replication_role(secrets_in_environment) -> None:
    hosts, common = default_fleet_data()
    plan = plan_host("nixie", hosts, common)
    assert not [name for name in plan.names if "replicator" in name or "Drop the replication slot" in name]
    assert not builds(plan)


def test_while_migrating_the_db_host_follows_the_old_primary(replication_secrets) -> None:
    hosts, common = migrating_fleet()
    plan = plan_host("nixie", hosts, common)
    assert builds(plan)
    assert not [name for name in plan.names if ROLE_CHANGE.search(name)], "a standby gets its roles from upstream"
    uploaded = plan.uploaded("PostgreSQL | Put /var/lib/postgresql/.mastofleet-upstream.pgpass (secret, not shown)")
    assert uploaded == f"10.0.9.5:5432:*:replicator:{CANARY}-source_replication_password\n"
    assert "PgBouncer | Install PgBouncer" in plan.names  # ready for the app once promoted


def test_a_db_host_holding_tables_is_not_replaced(replication_secrets) -> None:
    """The first build would throw the db host's own database away: refused before anything changes."""
    hosts, common = migrating_fleet()
    with pytest.raises(PyinfraError) as raised:
        plan_host("nixie", hosts, common, {"nixie": {TABLES_FACT: "12"}})
    message = str(raised.value)
    assert "nixie: mastodon_production holds 12 tables and is not a replica" in message
    assert "Nothing was changed" in message and "replace_target_data" in message


def test_a_rehearsal_may_replace_the_db_hosts_tables(replication_secrets) -> None:
    hosts, common = migrating_fleet(replace_target_data=True)
    plan = plan_host("nixie", hosts, common, {"nixie": {TABLES_FACT: "12"}})
    assert builds(plan)
    (upload,) = [
        command
        for command in plan.commands("PostgreSQL | Put /usr/local/sbin/mastofleet-build-standby")
        if isinstance(command, FileUploadCommand)
    ]
    assert "refusing to replace it" not in upload.src.getvalue()


def test_a_promoted_db_host_drops_its_standby_settings(secrets_in_environment) -> None:
    hosts, common = default_fleet_data()
    plan = plan_host("nixie", hosts, common)
    removed = [name for name in plan.names if name.endswith("(this host is a primary)")]
    assert removed == [
        "PostgreSQL | Remove /etc/postgresql/17/main/conf.d/60-mastofleet-standby.conf (this host is a primary)",
        f"PostgreSQL | Remove {standby.PASSFILE} (this host is a primary)",
        f"PostgreSQL | Remove {standby.BUILD_SCRIPT} (this host is a primary)",
    ]


@pytest.mark.parametrize("replace", [False, True], ids=["keeps data", "rehearsal"])
def test_the_build_script_is_valid_shell(tmp_path, replace: bool) -> None:
    """The rendered script, checked by the shell that runs it (`sh -n`, dash on Debian)."""
    hosts, common = migrating_fleet(replace_target_data=replace)
    fleet = build(hosts, common, SECRET_NAMES | {"source_replication_password"})
    (script,) = [
        item for item in standby.files_for(fleet, fleet.db_host, SecretValues()) if item.path == standby.BUILD_SCRIPT
    ]
    path = tmp_path / "build-standby"
    path.write_text(script.content)
    shell = shutil.which("dash") or shutil.which("sh")
    assert shell is not None
    checked = subprocess.run([shell, "-n", str(path)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    assert ("refusing to replace it" in script.content) is not replace


def test_a_standby_the_fleet_calls_its_primary_is_refused(secrets_in_environment) -> None:
    """database_migration removed before the cutover: nixie is still a standby, and would get CREATE ROLE."""
    hosts, common = default_fleet_data()
    with pytest.raises(PyinfraError) as raised:
        plan_host("nixie", hosts, common, {"nixie": {re.compile(r"standby.signal \]; then echo standby"): "standby"}})
    message = str(raised.value)
    assert "nixie: PostgreSQL here is a standby (standby.signal), but the fleet has nixie as its primary" in message
    assert "Nothing was changed" in message and "mastofleet cutover" in message


def test_a_migrating_db_host_starts_backups_only_once_promoted(replication_secrets) -> None:
    """pgBackRest backs up a primary: while the db host is a standby of the old primary it plans no
    stanza, no archiving and no timers; the deploy after the cutover does."""
    hosts, common = migrating_fleet()
    common["backup"] = {"bucket": "hachyderm-backups", "endpoint": "https://backups.example:9000"}
    migrating = plan_host("nixie", hosts, common)
    assert not [name for name in migrating.names if "pgBackRest" in name or "backup timer" in name]
    common["database_migration"]["enabled"] = False
    promoted = plan_host("nixie", hosts, common)
    assert [name for name in promoted.names if name.endswith("Install pgBackRest")]
    assert [name for name in promoted.names if "Enable the full backup timer" in name]
