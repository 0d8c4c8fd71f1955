"""Growing and shrinking the running local fleet under load: a fifth app host, frieda, is added by
one inventory entry and one deploy, then retired by one group move and one deploy.

The app is the stand-in (Mastodon's Rails code needs rubygems, out of reach here); nginx, Puma,
Sidekiq, node, PostgreSQL, PgBouncer and Redis are the real ones. A load generator sends requests
through nixie's nginx during each change and enqueues jobs on every queue.
"""

from __future__ import annotations

import time

import pytest
from fleet_support import (
    APP_HOSTS,
    MINIMUM_REQUESTS,
    database,
    lost_jobs,
    mastofleet,
    on_host,
    served_by,
    under_load,
)

from support.deploy_run import DeployResult, run_deploy

pytestmark = [pytest.mark.fleet, pytest.mark.changes_fleet]

GROWN = "tests/fleet/inventories/grown.py"
RETIRING = "tests/fleet/inventories/retiring.py"
HBA_FILES = "/etc/postgresql/17/main/pg_hba.conf /etc/pgbouncer/pg_hba.conf"


def frieda_listed_on_nixie() -> dict[str, bool]:
    listed = {}
    for path in (*HBA_FILES.split(), "/etc/nginx/mastofleet/serving.conf"):
        listed[path] = on_host("nixie", f"grep -c '# frieda$' {path} || true") not in ("", "0")
    return listed


@pytest.fixture(scope="module")
def frieda(first_deploy: DeployResult):
    booted = mastofleet("local", "up", "frieda")
    assert booted.returncode == 0, booted.stderr
    yield
    mastofleet("local", "down", "frieda")


def deploy_under_load(inventory: str, what: str) -> None:
    """Deploy `inventory` while the load runs: it succeeds, no request fails, no job is lost."""
    result, figures, seconds = under_load("deploy", inventory)
    print(f"\n{what}: {seconds:.1f} s wall time; {figures.summary()}")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert figures.requests >= MINIMUM_REQUESTS, figures.summary()
    assert figures.failures == 0, figures.summary()
    assert not lost_jobs(figures)


def test_adding_an_app_host_under_load(frieda) -> None:
    deploy_under_load(GROWN, "adding frieda")
    assert all(frieda_listed_on_nixie().values()), frieda_listed_on_nixie()
    # frieda now serves requests and runs jobs (its Sidekiq process listens on every queue but scheduler)
    assert {host for host, _ in served_by()} == {*APP_HOSTS, "frieda"}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for index in range(20):
            on_host(
                "nixie",
                f"curl -sk -o /dev/null -X POST -H 'Host: hachyderm.example' 'https://127.0.0.1/standin/enqueue?queue=default&token=grow-{index}'",
            )
        if database("SELECT count(*) FROM standin_jobs WHERE host = 'frieda'") != ["0"]:
            break
        time.sleep(2)
    assert database("SELECT count(*) FROM standin_jobs WHERE host = 'frieda'") != ["0"], "no job ran on frieda"


def test_retiring_an_app_host_under_load(frieda) -> None:
    deploy_under_load(RETIRING, "retiring frieda")
    assert not any(frieda_listed_on_nixie().values()), frieda_listed_on_nixie()
    assert on_host("frieda", "systemctl list-units --plain --no-legend 'mastodon-*' | wc -l") == "0"
    assert {host for host, _ in served_by()} == set(APP_HOSTS)


def test_a_retired_host_is_retired_once(frieda) -> None:
    """The next deploy with frieda still in `retired` changes nothing; then it leaves the inventory."""
    again = run_deploy(RETIRING)
    assert again.returncode == 0 and not again.failed, again.output
    assert again.changed == {}, again.changed
    back = run_deploy("inventories/local.py")
    assert back.returncode == 0 and not back.failed, back.output
    assert back.changed == {}, back.changed
