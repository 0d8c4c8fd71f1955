"""The read replica (db_replica): a hot standby of the fleet's primary, streaming over TLS into its
own slot, read-only, served to the app through its PgBouncer and REPLICA_DB_*.

Only fleets with a db_replica host have anything to check here (with the default local inventory
these tests have no host to run on); tests/fleet/test_read_replica.py runs them on the local fleet
with `hermine` as the replica.
"""

from __future__ import annotations

import shlex

from infra_support import Target, assert_active_and_enabled, assert_files_as_rendered, environment_values

from mastofleet.deploys import db_replica, standby
from mastofleet.deploys.mastodon import shared_environment_path
from mastofleet.plan.files import SecretValues
from mastofleet.plan.services import expected_services
from mastofleet.views.replication import slot_name


def sql(target: Target, query: str) -> str:
    return target.output(f"runuser -u postgres -- psql -XtA -F '|' -c {shlex.quote(query)}").strip()


def test_replica_services(db_replica_host: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    assert_active_and_enabled(db_replica_host, expected_services(fleet, db_replica_host.model))


def test_replica_files(db_replica_host: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    rendered = db_replica.files_for(fleet, db_replica_host.model, SecretValues())
    passfile = next(item for item in rendered if item.path == standby.PASSFILE)
    assert (passfile.user, passfile.mode, passfile.sensitive) == ("postgres", "600", True)
    assert_files_as_rendered(db_replica_host, rendered)


def test_replica_is_a_hot_standby_streaming_from_the_primary(db_replica_host: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    assert sql(db_replica_host, "SELECT pg_is_in_recovery()") == "t"
    status, sender, slot = sql(
        db_replica_host, "SELECT status, sender_host || ':' || sender_port, slot_name FROM pg_stat_wal_receiver"
    ).split("|")
    primary = fleet.db_host
    assert (status, sender, slot) == (
        "streaming",
        f"{primary.private_address}:{fleet.postgres.port}",
        slot_name(db_replica_host.model),
    )
    assert sql(db_replica_host, "SHOW hot_standby") == "on"


def test_the_primary_streams_to_the_replica_over_tls_into_its_slot(
    db_replica_host: Target, db_host: Target, fleet
) -> None:  # type: ignore[no-untyped-def]
    row = sql(
        db_host,
        "SELECT r.state, s.ssl, r.usename, l.slot_name, l.active FROM pg_stat_replication r"
        " JOIN pg_stat_ssl s USING (pid) LEFT JOIN pg_replication_slots l ON l.active_pid = r.pid"
        f" WHERE r.application_name = '{db_replica_host.name}'",
    )
    assert row == f"streaming|t|{fleet.replication.user}|{slot_name(db_replica_host.model)}|t"


def test_the_replication_password_is_in_no_setting_and_no_process(db_replica_host: Target) -> None:  # type: ignore[no-untyped-def]
    conninfo = sql(db_replica_host, "SHOW primary_conninfo")
    assert f"passfile={standby.PASSFILE}" in conninfo and "sslmode=require" in conninfo
    assert "password" not in conninfo.replace("passfile", "")
    processes = db_replica_host.output("ps -eo args")
    assert "password=" not in processes and "PGPASSWORD" not in processes


def test_the_replica_refuses_writes(db_replica_host: Target) -> None:
    result = db_replica_host.run(
        "runuser -u postgres -- psql -Xc 'CREATE TABLE mastofleet_write_probe (id int)' postgres"
    )
    assert result.rc != 0 and "read-only transaction" in result.stderr


def test_the_app_is_told_to_read_from_the_replica(db_replica_host: Target, first_app_host: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    path = shared_environment_path(fleet.instance)
    values = environment_values(
        first_app_host, path, ["REPLICA_DB_HOST", "REPLICA_DB_PORT", "REPLICA_PREPARED_STATEMENTS"]
    )
    port = fleet.pgbouncer.port if fleet.pgbouncer.enabled else fleet.postgres.port
    assert values["REPLICA_DB_HOST"] == str(db_replica_host.model.private_address)
    assert values["REPLICA_DB_PORT"] == str(port)
    assert values.get("REPLICA_PREPARED_STATEMENTS") == ("false" if fleet.pgbouncer.enabled else None)
    command = (
        f'set -a && . {shlex.quote(path)} && set +a && PGPASSWORD="$REPLICA_DB_PASS" PGCONNECT_TIMEOUT=5'
        ' psql "host=$REPLICA_DB_HOST port=$REPLICA_DB_PORT user=$REPLICA_DB_USER dbname=$REPLICA_DB_NAME"'
        " -XtAc 'SELECT pg_is_in_recovery()'"
    )
    result = first_app_host.run(command)
    assert (result.rc, result.stdout.strip()) == (0, "t"), result.stderr
