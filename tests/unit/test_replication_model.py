"""The fleet model's read replica and database migration: rules, secrets, what the app is told.

Everything here is host-less: fleets are built from plain data (fleet_builder) and checked by the
real rules; `.env.production` and pg_hba.conf are rendered by the real templates.
"""

from __future__ import annotations

import json

import pytest
from fleet_builder import SECRET_NAMES, build, host_data, problems_of

from mastofleet.deploys import postgres
from mastofleet.deploys.mastodon import direct_database_environment
from mastofleet.model import connection_budget, replica_connection_budget
from mastofleet.plan.files import SecretValues
from mastofleet.project.cutover_record import with_record, write_record
from mastofleet.views.environment import render_environment
from mastofleet.views.replication import replica_slots, slot_name, upstream_of
from mastofleet.views.report import fleet_table

REPLICA_SECRETS = SECRET_NAMES | {"replication_password"}
MIGRATION_SECRETS = SECRET_NAMES | {"source_replication_password"}
OLD_PRIMARY = "10.0.9.5"


def with_replica(hosts: list[dict], name: str = "hermine", address: str = "10.0.1.9") -> list[dict]:
    hosts.append({"name": name, "groups": ["db_replica"], "data": {"private_address": address}})
    return hosts


def migrating(common: dict, **settings: object) -> dict:
    common["database_migration"] = {"source": OLD_PRIMARY, **settings}
    return common


def environment(fleet) -> dict[str, str]:  # type: ignore[no-untyped-def]
    lines = render_environment(fleet, SecretValues()).splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


# --- the read replica ------------------------------------------------------------------------


def test_the_default_fleet_has_no_replica_and_needs_no_replication_secret(fleet_data) -> None:
    hosts, common = fleet_data
    fleet = build(hosts, common)
    assert "replication_password" not in fleet.referenced_secrets()
    assert not [key for key in environment(fleet) if key.startswith("REPLICA_")]
    assert replica_connection_budget(fleet) is None
    assert "hostssl" not in postgres.files_for(fleet, fleet.db_host, SecretValues())[1].content


def test_a_replica_needs_the_replication_secret(fleet_data) -> None:
    hosts, common = fleet_data
    problems, _ = problems_of(with_replica(hosts), common)
    assert [(problem.where, problem.field) for problem in problems] == [("secrets", "replication_password")]


def test_the_app_reads_from_the_replica_through_its_pgbouncer(fleet_data) -> None:
    hosts, common = fleet_data
    fleet = build(with_replica(hosts), common, REPLICA_SECRETS)
    values = environment(fleet)
    assert values["DB_HOST"] == "10.0.1.2" and values["DB_PORT"] == "6432"
    assert {key: value for key, value in values.items() if key.startswith("REPLICA_")} == {
        "REPLICA_DB_HOST": "10.0.1.9",
        "REPLICA_DB_PORT": "6432",
        "REPLICA_DB_NAME": "mastodon_production",
        "REPLICA_DB_USER": "mastodon",
        "REPLICA_DB_PASS": "<secret:postgres_password>",
        "REPLICA_PREPARED_STATEMENTS": "false",
    }


def test_without_pgbouncer_the_app_reads_from_the_replicas_postgres(fleet_data) -> None:
    hosts, common = fleet_data
    common["pgbouncer"] = {"enabled": False}
    values = environment(build(with_replica(hosts), common, REPLICA_SECRETS))
    assert values["REPLICA_DB_PORT"] == "5432"
    assert "REPLICA_PREPARED_STATEMENTS" not in values and "PREPARED_STATEMENTS" not in values


def test_the_primary_admits_the_replica_for_replication_over_tls_only(fleet_data) -> None:
    hosts, common = fleet_data
    fleet = build(with_replica(hosts), common, REPLICA_SECRETS)
    hba = postgres.files_for(fleet, fleet.db_host, SecretValues())[1].content
    lines = [line.split("#")[0].split() for line in hba.splitlines() if "replication" in line.split("#")[0]]
    assert lines == [["hostssl", "replication", "replicator", "10.0.1.9/32", "scram-sha-256"]]
    replica_hba = postgres.files_for(fleet, fleet.host("hermine"), SecretValues())[1].content
    assert "replication" not in replica_hba.split("#", 3)[-1], "only the primary serves replication"


def test_the_replica_streams_from_the_primary_through_its_own_slot(fleet_data) -> None:
    hosts, common = fleet_data
    fleet = build(with_replica(hosts, "db-reader", "10.0.1.9"), common, REPLICA_SECRETS)
    upstream = upstream_of(fleet, fleet.host("db-reader"))
    assert upstream is not None
    assert (upstream.address, upstream.port, upstream.user, upstream.slot) == (
        "10.0.1.2",
        5432,
        "replicator",
        "mastofleet_db_reader",
    )
    assert upstream.password == "secret:replication_password"
    assert upstream_of(fleet, fleet.db_host) is None
    assert replica_slots(fleet) == ["mastofleet_db_reader"] == [slot_name(fleet.host("db-reader"))]


def test_the_replica_connection_budget_is_counted_on_its_own(fleet_data) -> None:
    hosts, common = fleet_data
    fleet = build(with_replica(hosts), common, REPLICA_SECRETS)
    used, limit, arithmetic = connection_budget(fleet)
    budget = replica_connection_budget(fleet)
    assert budget is not None
    assert budget[:2] == (used, limit)  # every app process may open its pool there too, against its own limit
    assert "on hermine" in budget[2]
    assert f"read replica connections: {budget[2]}" in fleet_table(fleet)


def test_a_replica_over_its_connection_limit_is_refused(fleet_data) -> None:
    """The replica's limits are the primary's (a hot standby needs max_connections at least the
    primary's), so both budgets fail together, each reported on its own."""
    hosts, common = fleet_data
    common["pgbouncer"] = {"enabled": False}
    common["postgres"] = {**common["postgres"], "max_connections": 100}
    problems, text = problems_of(with_replica(hosts), common, REPLICA_SECRETS)
    assert "the fleet may open more database connections than allowed" in text
    assert "the app may open more connections to the read replica than it allows" in text
    assert "postgres max_connections 100 - reserved 10 on hermine" in text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda hosts, common: with_replica(with_replica(hosts), "helga", "10.0.1.10"),
            "2 hosts have the role db_replica",
        ),
        (
            lambda hosts, common: host_data(hosts, "nixie") and hosts[0]["groups"].append("db_replica"),
            "both db and db_replica",
        ),
        (lambda hosts, common: common.update(replication={"user": "mastodon"}) or with_replica(hosts), "its own role"),
        (
            lambda hosts, common: common.update(replication={"user": "Replicator;"}) or with_replica(hosts),
            "not a plain PostgreSQL role name",
        ),
    ],
    ids=["two replicas", "db and replica", "app role replicates", "bad role name"],
)
def test_replica_rules(fleet_data, change, message) -> None:  # type: ignore[no-untyped-def]
    hosts, common = fleet_data
    change(hosts, common)
    _, text = problems_of(hosts, common, REPLICA_SECRETS)
    assert message in text


# --- the database migration ------------------------------------------------------------------


def test_while_migrating_the_app_and_its_migrations_use_the_old_primary(fleet_data) -> None:
    hosts, common = fleet_data
    fleet = build(hosts, migrating(common), MIGRATION_SECRETS)
    values = environment(fleet)
    assert (values["DB_HOST"], values["DB_PORT"]) == (OLD_PRIMARY, "5432")
    assert "PREPARED_STATEMENTS" not in values, "no PgBouncer between the app and the old primary"
    assert direct_database_environment(fleet) == {"RAILS_ENV": "production", "DB_HOST": OLD_PRIMARY, "DB_PORT": "5432"}
    upstream = upstream_of(fleet, fleet.db_host)
    assert upstream is not None
    assert (upstream.endpoint, upstream.user, upstream.slot) == (
        f"{OLD_PRIMARY}:5432",
        "replicator",
        "mastofleet_nixie",
    )
    assert "source_replication_password" in fleet.referenced_secrets()


def test_migration_needs_the_old_primarys_replication_secret(fleet_data) -> None:
    hosts, common = fleet_data
    problems, _ = problems_of(hosts, migrating(common))
    assert [(problem.where, problem.field) for problem in problems] == [("secrets", "source_replication_password")]


@pytest.mark.parametrize(
    ("source", "replica", "message"),
    [
        ("10.0.1.2", False, "is nixie, a host of this fleet"),
        ("203.0.113.11", False, "is freud, a host of this fleet"),
        ("old primary", False, "is neither an address nor a host name"),
        (OLD_PRIMARY, True, "a read replica cannot follow a db host that is itself still a replica"),
    ],
)
def test_migration_rules(fleet_data, source, replica, message) -> None:  # type: ignore[no-untyped-def]
    hosts, common = fleet_data
    if replica:
        with_replica(hosts)
    _, text = problems_of(
        hosts, migrating(common) | {"database_migration": {"source": source}}, REPLICA_SECRETS | MIGRATION_SECRETS
    )
    assert message in text


def test_a_promoted_db_host_is_the_primary_again(fleet_data, tmp_path) -> None:
    """Once the cutover's record says the db host was promoted, the fleet no longer migrates,
    whatever group_data says: no later deploy rebuilds the new primary as a replica of the old one."""
    hosts, common = fleet_data
    fleet = build(hosts, migrating(common), MIGRATION_SECRETS)
    assert with_record(fleet, str(tmp_path)).migrating_database
    write_record(fleet, str(tmp_path), {"steps": {}, "promoted": False})
    assert with_record(fleet, str(tmp_path)).migrating_database
    write_record(fleet, str(tmp_path), {"steps": {"promote": {}}, "promoted": True})
    after = with_record(fleet, str(tmp_path))
    assert not after.migrating_database
    assert upstream_of(after, after.db_host) is None
    assert environment(after)["DB_HOST"] == "10.0.1.2"
    other = build(hosts, migrating(common, port=5433), MIGRATION_SECRETS)
    assert with_record(other, str(tmp_path)).migrating_database, "a record of another source does not count"
    assert json.loads((tmp_path / "database-cutover.json").read_text())["source"] == f"{OLD_PRIMARY}:5432"
