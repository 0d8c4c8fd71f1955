"""PostgreSQL on the db host: running, bound to loopback and the private address, its files as the
model renders them, and open to the app role from the app hosts only.

Who may log in is checked from both sides: psql on each app host with the credentials of its
`.env.production` logs in; from a fleet host without the app role (the edge host) and from a machine
outside the fleet the same login is refused by pg_hba ("no pg_hba.conf entry"). The outside machine
is known only for the local inventory (`outsider` of mastofleet.local.machines); with another
inventory that part is skipped, because the suite has no machine outside that fleet to probe from.
"""

from __future__ import annotations

import shlex
from ipaddress import ip_network

from infra_support import (
    Target,
    assert_active_and_enabled,
    assert_files_as_rendered,
    assert_listening_only,
    dropped_by_firewall,
    probe,
    psql_as_app,
)

from mastofleet.deploys import postgres
from mastofleet.plan.files import SecretValues
from mastofleet.plan.services import expected_services


def test_postgres_service(db_host: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    units = [unit for unit in expected_services(fleet, db_host.model) if unit.startswith("postgresql@")]
    assert_active_and_enabled(db_host, units)


def test_postgres_listens_on_loopback_and_private_address_only(db_host: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    # listen_addresses = 'localhost,<private>': localhost may resolve to ::1 as well.
    assert_listening_only(
        db_host, fleet.postgres.port, {"127.0.0.1", str(db_host.model.private_address)}, frozenset({"::1"})
    )


def test_postgres_files(db_host: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    rendered = postgres.files_for(fleet, db_host.model, SecretValues())
    hba = next(item for item in rendered if item.path.endswith("/pg_hba.conf"))
    assert (hba.user, hba.mode) == ("postgres", "640")
    assert_files_as_rendered(db_host, rendered)


def test_pg_hba_admits_only_the_app_hosts_over_the_network(db_host: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    path = next(item.path for item in postgres.files_for(fleet, db_host.model, SecretValues()) if "pg_hba" in item.path)
    networks = set()
    for line in db_host.output(f"cat {shlex.quote(path)}").splitlines():
        fields = line.split("#", 1)[0].split()
        if fields and fields[0].startswith("host"):
            networks.add((fields[1], fields[2], fields[3], fields[4]))
    remote = {entry for entry in networks if not ip_network(entry[2], strict=False).is_loopback}
    wanted = {
        (fleet.postgres.database, fleet.postgres.user, f"{host.private_address}/32", "scram-sha-256")
        for host in fleet.app_hosts
    }
    # read replicas stream WAL (hostssl: over TLS only) as the replication role, and nothing else
    wanted |= {
        ("replication", fleet.replication.user, f"{host.private_address}/32", "scram-sha-256")
        for host in fleet.replica_hosts
    }
    assert remote == wanted
    assert all(entry[3] == "scram-sha-256" for entry in networks), f"a host line without scram-sha-256: {networks}"


def test_app_host_logs_in_directly(app_host: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    """Straight to PostgreSQL (as migrations do), from the app host's own private address."""
    rc, output, error = psql_as_app(app_host, fleet, fleet.postgres.port)
    assert rc == 0, f"{app_host.name}: psql to {fleet.postgres.port} failed: {error}"
    assert output == f"{fleet.postgres.user} {fleet.postgres.database} {app_host.model.private_address}/32"


def test_app_host_with_a_wrong_password_is_refused(app_host: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    """The app hosts' pg_hba lines ask for scram-sha-256: they are not trusted without the password."""
    rc, _, error = psql_as_app(app_host, fleet, fleet.postgres.port, password="not-the-password")
    assert rc != 0 and "password authentication failed" in error, f"{app_host.name}: {error}"


def test_others_are_refused_by_pg_hba(prober: Target, fleet, fleet_ready) -> None:  # type: ignore[no-untyped-def]
    """From a host without the app role, and from outside the fleet, PostgreSQL refuses the app's
    login before any password: the firewall drops the connection, and without the firewall pg_hba
    has no line for that address."""
    db = fleet.db_host
    result = probe(
        prober,
        ["postgres", str(db.private_address), str(fleet.postgres.port), fleet.postgres.user, fleet.postgres.database],
    )
    assert not result["logged_in"], f"{prober.name} logged in to PostgreSQL as {fleet.postgres.user}"
    if dropped_by_firewall(fleet, prober, result, "PostgreSQL", (str(db.private_address), fleet.postgres.port)):
        return
    assert result["tcp"] == "open", f"{prober.name}: {result}"
    source = fleet_ready.address_of(prober.name)
    assert result["sqlstate"] == "28000", f"{prober.name}: {result}"
    assert f'no pg_hba.conf entry for host "{source}"' in result["message"], f"{prober.name}: {result}"


def test_superuser_is_not_reachable_over_the_network(app_host: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    """Even from an app host, only the app role and database have a pg_hba line: postgres is refused."""
    result = probe(
        app_host, ["postgres", str(fleet.db_host.private_address), str(fleet.postgres.port), "postgres", "postgres"]
    )
    assert not result["logged_in"] and result["sqlstate"] == "28000", f"{app_host.name}: {result}"
    assert "no pg_hba.conf entry" in result["message"]
