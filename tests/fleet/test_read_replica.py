"""A read replica on the local fleet: `hermine` (booted only when named) in the db_replica group of
tests/fleet/inventories/read_replica.py, built by the real deploy.py as a hot standby of nixie.

Real parts: PostgreSQL 17 on nixie and hermine (pg_basebackup over TLS, a replication slot,
streaming replication), PgBouncer on both, the stand-in application reading through REPLICA_DB_*
(only Mastodon's Rails code is a stand-in: rubygems is out of reach). Tests run in file order and
share the replicated fleet; the last one deploys the shared fleet's own inventory again, which takes
the replica away (slot dropped, pg_hba line gone, REPLICA_DB_* gone), and powers hermine off.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest
from fleet_support import get, mastofleet, on_host

from mastofleet.local.machines import MACHINES
from support.deploy_run import PROJECT, DeployResult, run_deploy

pytestmark = [pytest.mark.fleet, pytest.mark.changes_fleet]

INVENTORY = "tests/fleet/inventories/read_replica.py"
SHARED_INVENTORY = "inventories/local.py"
REPLICA = "hermine"
REPLICA_ADDRESS = MACHINES[REPLICA].address
ENVIRONMENT = "/etc/mastodon/env.production"


@pytest.fixture(scope="module")
def replicated(first_deploy: DeployResult) -> None:
    assert mastofleet("local", "up", REPLICA).returncode == 0
    # replication_password, which only a fleet with a replica needs (the restore drops it again)
    assert mastofleet("secrets", "init", INVENTORY, "--generate-missing").returncode == 0
    result = run_deploy(INVENTORY)
    assert result.returncode == 0 and not result.failed, f"deploy failed: {result.failed}\n{result.output}"
    print(
        f"\ndeploy with the replica: {result.seconds:.1f} s; build: {on_host(REPLICA, 'cat /var/lib/postgresql/mastofleet-standby.json')}"
    )


def test_the_testinfra_suite_checks_the_replica(replicated: None) -> None:
    """tests/infra's replica and PostgreSQL checks, run against the replicated fleet (not skipped)."""
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            "-rs",
            "tests/infra/test_db_replica.py",
            "tests/infra/test_postgres.py",
            "--inventory",
            INVENTORY,
        ],
        cwd=PROJECT,
        env={**os.environ, "MASTOFLEET_INFRA_NO_DEPLOY": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-5000:] + completed.stderr[-2000:]
    skipped = [line for line in completed.stdout.splitlines() if line.startswith("SKIPPED")]
    # only the probe from `outsider`, which the suite knows for inventories/local.py alone
    assert all("no machine outside the fleet" in line for line in skipped), completed.stdout[-3000:]
    assert "test_db_replica" not in " ".join(skipped)
    print(f"\n{completed.stdout.strip().splitlines()[-1]}")


def test_a_second_deploy_changes_nothing(replicated: None) -> None:
    second = run_deploy(INVENTORY)
    assert second.returncode == 0 and not second.failed, second.output
    assert second.changed == {}, f"operations changed on the second run: {second.changed}"


def test_a_row_written_on_the_primary_is_readable_on_the_replica_within_a_second(replicated: None) -> None:
    """Measured on freud with the app's own credentials: INSERT on nixie, then ask hermine until it has the row."""
    token = f"replica-probe-{time.time_ns()}"
    script = (
        f"set -a && . {ENVIRONMENT} && set +a && export PGCONNECT_TIMEOUT=5"
        ' && primary="host=$DB_HOST port=5432 user=$DB_USER dbname=$DB_NAME password=$DB_PASS"'
        ' && replica="host=$REPLICA_DB_HOST port=5432 user=$REPLICA_DB_USER dbname=$REPLICA_DB_NAME password=$REPLICA_DB_PASS"'
        " && psql \"$replica\" -XtAc 'SELECT 1' >/dev/null"  # the replica answers before the clock starts
        f' && started=$(date +%s%N) && psql "$primary" -XqAtc "INSERT INTO standin_rows (payload) VALUES (\'{token}\')"'
        " && deadline=$((started + 5000000000))"
        f' && until [ -n "$(psql "$replica" -XtAc "SELECT 1 FROM standin_rows WHERE payload = \'{token}\'")" ]; do'
        ' [ "$(date +%s%N)" -lt "$deadline" ] || { echo never; exit 1; }; done'
        " && echo $(( ($(date +%s%N) - started) / 1000000 ))"
    )
    milliseconds = int(on_host("freud", script))
    print(f"\nrow visible on the replica {milliseconds} ms after the INSERT on the primary (psql logins included)")
    assert milliseconds < 1000


def test_the_app_reads_through_the_replica(replicated: None) -> None:
    status, body = get(f"/standin/read?fresh={time.time_ns()}")
    assert status == 200, body
    answer = json.loads(body)
    # through hermine's PgBouncer (which reaches PostgreSQL on 127.0.0.1), to the fleet's only standby
    assert answer["replica"] is True and answer["in_recovery"] is True
    assert answer["db_via"] == f"{REPLICA_ADDRESS}:6432" and answer["server_addr"] == "127.0.0.1"
    before = answer["count"]
    request = subprocess.run(
        ["curl", "-sk", "-X", "POST", "-H", "Host: hachyderm.example", "https://10.77.0.11/standin/write?n=7"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(request.stdout)["count"] == 7
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        answer = json.loads(get(f"/standin/read?fresh={time.time_ns()}")[1])
        if answer["count"] >= before + 7:
            break
        time.sleep(0.1)
    assert answer["count"] >= before + 7, "a write through the app never reached its reads"


def test_db_status_shows_the_replica_and_its_lag(replicated: None) -> None:
    result = mastofleet("db", "status", INVENTORY)
    print(f"\n{result.stdout}")
    assert result.returncode == 0, result.stdout + result.stderr
    row = next(line for line in result.stdout.splitlines() if line.startswith("nixie") and REPLICA in line)
    assert "streaming" in row and "mastofleet_hermine" in row
    assert f"{REPLICA} (db_replica)" in result.stdout and "receiving from 10.77.0.11:5432: streaming" in result.stdout


def test_replica_lag_under_a_write_load(replicated: None) -> None:
    """Six writers through the balancer (each POST inserts 200 rows) for 15 s; the lag is sampled on nixie."""
    stop = threading.Event()
    written = [0]

    def writer() -> None:
        while not stop.is_set():
            result = subprocess.run(
                [
                    "curl",
                    "-sk",
                    "-X",
                    "POST",
                    "-H",
                    "Host: hachyderm.example",
                    "https://10.77.0.11/standin/write?n=200",
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode == 0 and '"count":200' in result.stdout:
                written[0] += 200

    workers = [threading.Thread(target=writer, daemon=True) for _ in range(6)]
    for worker in workers:
        worker.start()
    samples = []
    query = (
        "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint, COALESCE(EXTRACT(epoch FROM replay_lag), 0)"
        f" FROM pg_stat_replication WHERE application_name = '{REPLICA}'"
    )
    started = time.monotonic()
    while time.monotonic() - started < 15:
        line = on_host("nixie", f"runuser -u postgres -- psql -XtA -F ' ' -c \"{query}\"")
        lag_bytes, lag_seconds = line.split()
        samples.append((int(lag_bytes), float(lag_seconds)))
        time.sleep(0.5)
    stop.set()
    for worker in workers:
        worker.join(timeout=30)
    seconds = time.monotonic() - started
    worst_bytes = max(item[0] for item in samples)
    worst_seconds = max(item[1] for item in samples)
    mean_seconds = sum(item[1] for item in samples) / len(samples)
    print(
        f"\nreplica lag under a write load ({written[0]} rows in {seconds:.0f} s, {written[0] / seconds:.0f} rows/s):"
        f" {len(samples)} samples, replay lag mean {mean_seconds * 1000:.0f} ms, max {worst_seconds * 1000:.0f} ms,"
        f" max {worst_bytes} bytes behind"
    )
    assert written[0] > 0
    assert worst_seconds < 5, "the replica fell behind under the write load"


def test_the_shared_fleet_without_the_replica(replicated: None) -> None:
    """The shared fleet's own inventory again: the primary drops the replica's slot and pg_hba line,
    the app loses REPLICA_DB_*; hermine is powered off."""
    result = run_deploy(SHARED_INVENTORY)
    assert result.returncode == 0 and not result.failed, result.output
    slots = on_host("nixie", "runuser -u postgres -- psql -XtAc 'SELECT slot_name FROM pg_replication_slots'")
    assert "mastofleet_hermine" not in slots
    assert "replication" not in on_host("nixie", "grep -v '^#' /etc/postgresql/17/main/pg_hba.conf")
    assert "REPLICA_" not in on_host("freud", f"cut -d= -f1 {ENVIRONMENT}")
    assert json.loads(get(f"/standin/read?fresh={time.time_ns()}")[1])["replica"] is False
    assert mastofleet("local", "down", REPLICA).returncode == 0
