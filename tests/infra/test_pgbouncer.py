"""PgBouncer on the db host: transaction pooling on loopback and the private address, the app role
logging in through it from the app hosts, and nobody else.

The outside machine is known only for the local inventory (`outsider`); with another inventory the
probes from outside are skipped with that reason, the ones from fleet hosts without the app role run.
"""

from __future__ import annotations

import pytest
from infra_support import (
    Secret,
    Target,
    assert_active_and_enabled,
    assert_files_as_rendered,
    assert_listening_only,
    dropped_by_firewall,
    environment_secret,
    probe,
    psql_as_app,
)

from mastofleet.deploys import mastodon, pgbouncer
from mastofleet.plan.files import SecretValues


def test_pgbouncer_service(pgbouncer_host: Target) -> None:
    assert_active_and_enabled(pgbouncer_host, ["pgbouncer.service"])


def test_pgbouncer_listens_on_loopback_and_private_address_only(pgbouncer_host: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    assert_listening_only(
        pgbouncer_host, fleet.pgbouncer.port, {"127.0.0.1", str(pgbouncer_host.model.private_address)}
    )


def test_pgbouncer_files(pgbouncer_host: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    rendered = pgbouncer.files_for(fleet, pgbouncer_host.model, SecretValues())
    users = next(item for item in rendered if item.path.endswith("/userlist.txt"))
    assert (users.user, users.mode, users.sensitive) == ("postgres", "640", True)
    assert_files_as_rendered(pgbouncer_host, rendered)


def test_pgbouncer_pools_transactions(pgbouncer_host: Target) -> None:
    settings = pgbouncer_host.output("cat /etc/pgbouncer/pgbouncer.ini")
    lines = {
        line.split("=", 1)[0].strip(): line.split("=", 1)[1].strip() for line in settings.splitlines() if "=" in line
    }
    assert lines.get("pool_mode") == "transaction"
    assert lines.get("auth_type") in ("scram-sha-256", "hba")


def test_app_host_logs_in_through_pgbouncer(app_host: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    rc, output, error = psql_as_app(app_host, fleet, fleet.pgbouncer.port)
    assert rc == 0, f"{app_host.name}: psql through PgBouncer ({fleet.pgbouncer.port}) failed: {error}"
    # PgBouncer connects to PostgreSQL itself, over loopback.
    assert output.startswith(f"{fleet.postgres.user} {fleet.postgres.database} 127.0.0.1"), output


@pytest.fixture
def database_password(first_app_host: Target, fleet):  # type: ignore[no-untyped-def]
    return environment_secret(first_app_host, mastodon.shared_environment_path(fleet.instance), "DB_PASS")


def test_others_without_the_password_are_refused(prober: Target, fleet) -> None:  # type: ignore[no-untyped-def]
    """Unauthenticated use from a non-app host or from outside fails: the firewall drops it, or
    (without the firewall) PgBouncer refuses it."""
    arguments = ["postgres", str(fleet.db_host.private_address), str(fleet.pgbouncer.port), fleet.postgres.user]
    result = probe(prober, [*arguments, fleet.postgres.database])
    assert not result["logged_in"], f"{prober.name} logged in through PgBouncer without a password"
    if dropped_by_firewall(
        fleet, prober, result, "PgBouncer", (str(fleet.db_host.private_address), fleet.pgbouncer.port)
    ):
        return
    wrong = probe(
        prober, [*arguments, fleet.postgres.database], password=Secret("a wrong password", "not-the-password")
    )
    assert not wrong["logged_in"] and wrong["sqlstate"] in ("08P01", "28P01"), f"{prober.name}: {wrong}"


def test_others_are_refused_even_with_the_password(prober: Target, fleet, database_password) -> None:  # type: ignore[no-untyped-def]
    """NOTHING but the app hosts may log in as the app, even knowing the password: the address rule
    of pg_hba must hold through PgBouncer too (the password goes to the prober over stdin)."""
    arguments = ["postgres", str(fleet.db_host.private_address), str(fleet.pgbouncer.port), fleet.postgres.user]
    result = probe(prober, [*arguments, fleet.postgres.database], password=database_password)
    assert not result["logged_in"], f"{prober.name} logged in through PgBouncer as {fleet.postgres.user}"
    if dropped_by_firewall(
        fleet, prober, result, "PgBouncer", (str(fleet.db_host.private_address), fleet.pgbouncer.port)
    ):
        return
    assert result["tcp"] == "open", f"{prober.name}: {result}"
    assert not result["logged_in"], (
        f"{prober.name} (not an app host) logged in through PgBouncer as {fleet.postgres.user}"
    )
