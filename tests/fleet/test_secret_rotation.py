"""Rotating the database and Redis passwords on the running local fleet, under load.

`mastofleet secrets rotate NAME` stores a new value (age-encrypted) and deploys it in order: the
PostgreSQL role (or Redis) and PgBouncer first, then each app host's environment, restarted host by
host behind the balancer. Afterwards the old password is refused by the server itself, the new one
works, and the site answers from every app host. Values are read from the hosts only to compare
them; nothing here prints one.

A rotation is not free of errors: between the server taking the new password and an app host's
restart, that host's *new* connections still use the old one (its open ones keep working). The
errors seen under load are printed, not asserted away; docs/runbooks/secrets.md has figures.
"""

from __future__ import annotations

import shlex

import pytest
from fleet_support import APP_HOSTS, INVENTORY, on_host, served_by, under_load

from support.deploy_run import DeployResult

pytestmark = [pytest.mark.fleet, pytest.mark.changes_fleet]


def environment_value(key: str) -> str:
    line = on_host("freud", f"grep '^{key}=' /etc/mastodon/env.production")
    return line.split("=", 1)[1].strip().strip('"')


def postgres_accepts(password: str, port: int) -> bool:
    command = (
        f"PGPASSWORD={shlex.quote(password)} psql -h 10.77.0.11 -p {port} -U mastodon -d mastodon_production"
        " -XtAc 'SELECT 1' >/dev/null 2>&1 && echo yes || echo no"
    )
    return on_host("freud", command) == "yes"


def redis_accepts(password: str) -> bool:
    command = (
        f"REDISCLI_AUTH={shlex.quote(password)} redis-cli -h 10.77.0.11 --user mastodon --no-auth-warning PING 2>&1 | grep -qx PONG"
        " && echo yes || echo no"
    )
    return on_host("nixie", command) == "yes"


@pytest.mark.parametrize(
    ("name", "key", "accepts"),
    [
        ("postgres_password", "DB_PASS", lambda password: postgres_accepts(password, 5432)),
        ("redis_password", "REDIS_PASSWORD", redis_accepts),
    ],
    ids=["postgres", "redis"],
)
def test_rotation_replaces_the_password_everywhere(first_deploy: DeployResult, name: str, key: str, accepts) -> None:
    old = environment_value(key)
    assert accepts(old)
    result, figures, seconds = under_load("secrets", "rotate", name, INVENTORY)
    print(f"\nrotating {name}: {seconds:.1f} s; {figures.summary()}")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert old not in result.stdout + result.stderr
    new = environment_value(key)
    assert new != old
    assert not accepts(old), f"the old {name} still works"
    assert accepts(new)
    if name == "postgres_password":
        assert postgres_accepts(new, 6432) and not postgres_accepts(old, 6432)  # PgBouncer follows
    assert served_by() == {(host, "v1") for host in APP_HOSTS}
