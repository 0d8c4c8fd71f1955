"""Split Redis and the search index step, on the local fleet.

Real parts: Debian's Redis as three servers on nixie (the main one, `redis-server@cache` and
`redis-server@sidekiq`), deployed by the real deploy.py from tests/fleet/inventories/split_redis_search.py,
checked with redis-cli on nixie; requests through nixie's nginx. Stands in: Mastodon's Rails code
(rubygems is out of reach) — the stand-in writes cache keys through CACHE_REDIS_*, enqueues and runs
jobs through SIDEKIQ_REDIS_*, and its `tootctl search deploy` records the run in standin_migrations
without contacting a cluster: neither Elasticsearch nor OpenSearch can be installed here (their apt
repositories are out of reach), so search points at an external address. The role that installs them
is checked as a plan (tests/unit/test_search_plan.py). Tests run in file order and share the fleet;
the last one deploys inventories/local.py again, as the other tests expect it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest
from fleet_support import INVENTORY as LOCAL_INVENTORY
from fleet_support import database, get, mastofleet, on_host

from mastofleet.deploys import redis as redis_role
from mastofleet.local.machines import MACHINES
from mastofleet.project.fleet import load_fleet
from support.deploy_run import PROJECT, DeployResult, run_deploy

pytestmark = [pytest.mark.fleet, pytest.mark.changes_fleet]

SPLIT_INVENTORY = "tests/fleet/inventories/split_redis_search.py"
PORTS = {"main": 6379, "cache": 6380, "sidekiq": 6381}
CONFIGS = {
    "main": "/etc/redis/redis.conf",
    "cache": "/etc/redis/redis-cache.conf",
    "sidekiq": "/etc/redis/redis-sidekiq.conf",
}
SEARCH_MARKER = "/var/lib/mastofleet/release/search-deployed"
SEARCH_ADDRESS = f"{MACHINES['outsider'].address}:9200"
SEARCH_DEPLOYS = "SELECT count(*) FROM standin_migrations WHERE version = 'search-deploy'"


def redis(purpose: str, *command: str) -> str:
    """redis-cli on nixie against one server, as the operators' admin user (its password is read
    there, never here; the default user is off)."""
    words = " ".join(command)
    return on_host(
        "nixie",
        f"REDISCLI_AUTH=$(cat {redis_role.ADMIN_PASSWORD_FILE}) redis-cli --no-auth-warning --user admin"
        f" -p {PORTS[purpose]} {words}",
    )


def search_deploys() -> int:
    return int(database(SEARCH_DEPLOYS)[0])


@pytest.fixture(scope="module")
def split(first_deploy: DeployResult) -> Iterator[dict[str, int]]:
    """The fleet deployed from the split inventory, with search enabled for the first time."""
    # creates cache_redis_password and sidekiq_redis_password in the local store, keeps the rest
    assert mastofleet("secrets", "init", LOCAL_INVENTORY).returncode == 0
    on_host("freud", f"rm -f {SEARCH_MARKER}")  # search is enabled for the first time below
    before = search_deploys()
    result = run_deploy(SPLIT_INVENTORY)
    assert result.returncode == 0 and not result.failed, f"deploy failed: {result.failed}\n{result.output}"
    print(f"\ndeploy of the split fleet: {result.seconds:.1f} s, {result.changed_count} changed operations")
    yield {"search_deploys_before": before}  # the fleet is restored from the snapshot afterwards


def test_cache_keys_land_on_the_cache_redis(split: dict[str, int]) -> None:
    key, value = f"split-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    status, body = get(f"/standin/cache?key={key}&value={value}", method="POST")
    assert status == 200, body
    assert json.loads(body)["cache_via"] == f"{MACHINES['nixie'].address}:6380"
    assert redis("cache", "GET", f"cache:standin:{key}") == value
    assert redis("main", "EXISTS", f"cache:standin:{key}") == "0"
    assert redis("sidekiq", "EXISTS", f"cache:standin:{key}") == "0"
    status, body = get(f"/standin/cache?key={key}&nocache={uuid.uuid4().hex}")
    assert status == 200 and json.loads(body)["value"] == value


def test_jobs_land_on_the_sidekiq_redis_and_run(split: dict[str, int]) -> None:
    parked = f"parked-{uuid.uuid4().hex[:8]}"  # a queue no process serves: the job stays where it landed
    status, body = get(f"/standin/enqueue?queue={parked}&token={parked}", method="POST")
    assert status == 200, body
    try:
        assert redis("sidekiq", "LLEN", f"queue:{parked}") == "1"
        assert redis("main", "EXISTS", f"queue:{parked}") == "0"
        assert redis("cache", "EXISTS", f"queue:{parked}") == "0"
    finally:
        redis("sidekiq", "DEL", f"queue:{parked}")
        redis("sidekiq", "SREM", "queues", parked)
    token = f"split-{uuid.uuid4().hex[:8]}"
    status, body = get(f"/standin/enqueue?queue=default&token={token}", method="POST")
    assert status == 200, body
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not database(f"SELECT host FROM standin_jobs WHERE token = '{token}'"):
        time.sleep(0.5)
    assert database(f"SELECT queue FROM standin_jobs WHERE token = '{token}'") == ["default"]
    # every Sidekiq process of the fleet keeps its heartbeat in the Sidekiq Redis
    fleet, _ = load_fleet(SPLIT_INVENTORY)
    assert int(redis("sidekiq", "SCARD", "processes")) >= sum(len(host.sidekiq) for host in fleet.app_hosts)


def test_the_cache_redis_keeps_nothing_on_disk_and_evicts(split: dict[str, int]) -> None:
    assert redis("cache", "CONFIG", "GET", "appendonly").splitlines() == ["appendonly", "no"]
    assert redis("cache", "CONFIG", "GET", "save").splitlines() == ["save"]  # no snapshot schedule at all
    assert redis("cache", "CONFIG", "GET", "maxmemory").splitlines() == ["maxmemory", str(64 * 1024 * 1024)]
    assert redis("cache", "CONFIG", "GET", "maxmemory-policy").splitlines() == ["maxmemory-policy", "allkeys-lru"]


def test_the_sidekiq_redis_persists_and_never_evicts(split: dict[str, int]) -> None:
    assert redis("sidekiq", "CONFIG", "GET", "appendonly").splitlines() == ["appendonly", "yes"]
    assert redis("sidekiq", "CONFIG", "GET", "maxmemory-policy").splitlines() == ["maxmemory-policy", "noeviction"]
    assert redis("sidekiq", "CONFIG", "GET", "dir").splitlines() == ["dir", "/var/lib/redis/sidekiq"]


def test_each_redis_wants_its_own_password(split: dict[str, int]) -> None:
    for purpose in ("cache", "sidekiq"):
        answer = on_host(
            "nixie",
            f"REDISCLI_AUTH= redis-cli --no-auth-warning -h {MACHINES['nixie'].address} -p {PORTS[purpose]} ping",
        )
        assert answer.startswith("NOAUTH"), f"{purpose}: {answer}"
    wrong = on_host(
        "nixie",
        f"REDISCLI_AUTH=$(awk '/^requirepass /{{print $2}}' {CONFIGS['main']})"
        " redis-cli --no-auth-warning -p 6380 ping 2>&1",
    )
    assert "WRONGPASS" in wrong and "PONG" not in wrong, f"the main Redis's password on the cache Redis: {wrong}"


def test_search_settings_reach_the_app_and_the_indices_are_created_once(split: dict[str, int]) -> None:
    environment = on_host("freud", "grep -E '^ES_' /etc/mastodon/env.production").splitlines()
    assert environment == [
        "ES_ENABLED=true",
        f"ES_HOST={SEARCH_ADDRESS.split(':')[0]}",
        "ES_PORT=9200",
        "ES_PRESET=single_node_cluster",
    ]
    assert search_deploys() == split["search_deploys_before"] + 1
    notes = database(
        "SELECT note || ' ' || host FROM standin_migrations WHERE version = 'search-deploy' ORDER BY id DESC LIMIT 1"
    )
    assert notes == [f"elasticsearch {SEARCH_ADDRESS} freud"]
    assert on_host("freud", f"cat {SEARCH_MARKER}") == SEARCH_ADDRESS


def test_a_second_deploy_of_the_split_fleet_changes_nothing(split: dict[str, int]) -> None:
    again = run_deploy(SPLIT_INVENTORY)
    assert again.returncode == 0 and not again.failed, again.output
    assert again.changed == {}, f"operations changed on the second run: {again.changed}"
    assert search_deploys() == split["search_deploys_before"] + 1, "tootctl search deploy ran a second time"
    print(f"\nno-op deploy of the split fleet: {again.seconds:.1f} s")


def test_the_testinfra_redis_checks_pass_on_every_redis_server(split: dict[str, int]) -> None:
    """tests/infra/test_redis.py against the split inventory: each of the three servers is checked."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-v", "tests/infra/test_redis.py"]
        + ["--inventory", SPLIT_INVENTORY],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-5000:]
    for server in ("nixie-main", "nixie-cache", "nixie-sidekiq"):
        assert f"test_redis_keeps_to_disk_what_it_should[{server}] PASSED" in result.stdout, server
    print("\n" + result.stdout.strip().splitlines()[-1])


def test_back_to_one_redis_retires_the_others(split: dict[str, int]) -> None:
    """The shared fleet again (inventories/local.py): the cache and Sidekiq Redis are stopped and
    disabled, their configurations gone, and the app writes no CACHE_/SIDEKIQ_/ES_ keys."""
    result = run_deploy(LOCAL_INVENTORY)
    assert result.returncode == 0 and not result.failed, result.output
    states = on_host(
        "nixie",
        "for unit in redis-server@cache redis-server@sidekiq; do"
        " echo $(systemctl is-active $unit) $(systemctl is-enabled $unit 2>/dev/null); done; ls /etc/redis",
    ).splitlines()
    assert states[:2] == ["inactive disabled", "inactive disabled"], states
    assert "redis-cache.conf" not in states and "redis-sidekiq.conf" not in states, states
    keys = on_host("freud", "grep -cE '^(CACHE_REDIS|SIDEKIQ_REDIS|ES)_' /etc/mastodon/env.production || true")
    assert keys == "0"
    status, body = get("/standin/cache?key=after&value=split", method="POST")
    assert status == 200 and json.loads(body)["cache_via"] == f"{MACHINES['nixie'].address}:6379"
