"""The database evacuation on the local fleet: alice, an old primary outside the fleet, is replicated
by nixie and cut over to it while the application writes, with nothing lost.

Real parts: PostgreSQL 17 on alice (set up by tests/support/old_primary.py with the fleet's
database and 150,000 generated rows) and on nixie (built by the real deploy.py from
tests/fleet/inventories/database_migration.py as alice's streaming replica over TLS), PgBouncer,
nginx's maintenance page, the real `mastofleet cutover` and `mastofleet db status`. Only Mastodon's
Rails code is a stand-in (rubygems is out of reach). Tests run in file order and share the fleet;
the module's teardown puts the shared fleet back (nixie a primary, deployed from inventories/local.py).
"""

from __future__ import annotations

import http.client
import re
import threading
import time

import pytest
from fleet_support import BALANCER, DOMAIN, get, mastofleet, on_host, self_signed, served_by

from mastofleet.deploys import nginx
from mastofleet.local.machines import MACHINES, state_directory
from support.deploy_run import DeployResult, run_deploy
from support.load import Load
from support.old_primary import (
    LEGACY_TABLE,
    OLD_PRIMARY,
    as_postgres,
    max_ids,
    psql,
    start_old_primary,
    table_checksums,
)

pytestmark = [pytest.mark.fleet, pytest.mark.changes_fleet]

INVENTORY = "tests/fleet/inventories/database_migration.py"
RECORD = state_directory() / "database-cutover.json"
DATABASE = "mastodon_production"
LEGACY_ROWS = 150_000
ALICE = MACHINES[OLD_PRIMARY].address


@pytest.fixture(scope="module")
def migrating(first_deploy: DeployResult):  # type: ignore[no-untyped-def]
    RECORD.unlink(missing_ok=True)
    # replication_password, which only a fleet with a replica needs (the restore drops it again)
    assert mastofleet("secrets", "init", INVENTORY, "--generate-missing").returncode == 0
    started = time.monotonic()
    start_old_primary(INVENTORY, LEGACY_ROWS)
    prepared = time.monotonic()
    try:
        result = run_deploy(INVENTORY)
        assert result.returncode == 0 and not result.failed, f"deploy failed: {result.failed}\n{result.output}"
        print(
            f"\nold primary prepared in {prepared - started:.1f} s; deploy (nixie built as its replica):"
            f" {result.seconds:.1f} s; {on_host('nixie', 'cat /var/lib/postgresql/mastofleet-standby.json')}"
        )
        yield
    finally:
        RECORD.unlink(missing_ok=True)  # the fleet itself is restored from the snapshot (changes_fleet)


def request(method: str, path: str) -> tuple[int, dict[str, str]]:
    """(status, headers) of a request through nixie's nginx; status 0 when it failed."""
    connection = http.client.HTTPSConnection(BALANCER, 443, timeout=15, context=self_signed())
    try:
        connection.request(method, path, headers={"Host": DOMAIN})
        response = connection.getresponse()
        response.read()
        return response.status, {key.lower(): value for key, value in response.getheaders()}
    except (OSError, http.client.HTTPException):
        return 0, {}
    finally:
        connection.close()


def post(path: str) -> int:
    return request("POST", path)[0]


def test_the_db_host_replicates_the_old_primary(migrating) -> None:  # type: ignore[no-untyped-def]
    status = mastofleet("db", "status", INVENTORY)
    print(f"\n{status.stdout}")
    assert status.returncode == 0, status.stdout + status.stderr
    assert f"old primary {ALICE}:5432" in status.stdout
    assert f"receiving from {ALICE}:5432: streaming" in status.stdout
    assert "cutover: not started" in status.stdout
    answer = get(f"/standin/read?fresh={time.time_ns()}")
    assert answer[0] == 200 and f'"server_addr":"{ALICE}"' in answer[1].decode(), answer
    before = int(as_postgres("nixie", "SELECT count(*) FROM standin_rows"))
    assert post("/standin/write?n=3") == 200
    deadline = time.monotonic() + 5
    while int(as_postgres("nixie", "SELECT count(*) FROM standin_rows")) < before + 3:
        assert time.monotonic() < deadline, "a write through the app never reached nixie"
        time.sleep(0.2)
    legacy = {LEGACY_TABLE: LEGACY_ROWS}
    assert (
        table_checksums("nixie", DATABASE, legacy)[LEGACY_TABLE]
        == table_checksums(OLD_PRIMARY, DATABASE, legacy)[LEGACY_TABLE]
    )


def test_the_cutover_refuses_while_replication_is_broken(migrating) -> None:  # type: ignore[no-untyped-def]
    """alice stops admitting nixie's replication: the cutover refuses before it changes anything."""
    configuration = "/etc/postgresql/17/main/pg_hba.conf"
    on_host(
        OLD_PRIMARY, f"cp {configuration} /root/pg_hba.conf.kept && sed -i '/^hostssl replication/d' {configuration}"
    )
    psql(OLD_PRIMARY, "SELECT pg_reload_conf();\nSELECT pg_terminate_backend(pid) FROM pg_stat_replication;\n")
    try:
        refused = mastofleet("cutover", INVENTORY, "--yes")
        print(f"\n{refused.stdout}{refused.stderr}")
        assert refused.returncode == 1
        assert "refusing to cut over, nothing was changed" in refused.stderr
        assert "replication is broken" in refused.stderr
        assert get(f"/standin/whoami?fresh={time.time_ns()}")[0] == 200, "the site left service"
        assert psql(OLD_PRIMARY, "SHOW default_transaction_read_only;\n").strip() == "off"
        assert not RECORD.exists()
    finally:
        on_host(OLD_PRIMARY, f"cp /root/pg_hba.conf.kept {configuration}")
        psql(OLD_PRIMARY, "SELECT pg_reload_conf();\n")
    deadline = time.monotonic() + 60
    while mastofleet("db", "status", INVENTORY).returncode != 0:
        assert time.monotonic() < deadline, "replication did not come back"
        time.sleep(2)


APP_LOGIN = (
    "set -a && . /etc/mastodon/env.production && set +a && PGPASSWORD=$DB_PASS psql -h"
    f" {ALICE} -U $DB_USER -d $DB_NAME -XtAc \"BEGIN READ WRITE; INSERT INTO standin_rows (payload) VALUES ('after');"
    ' COMMIT" 2>&1 || true'
)


def test_an_aborted_cutover_serves_again_from_the_old_primary(migrating) -> None:  # type: ignore[no-untyped-def]
    """Stopped at the LSN wait (nixie's replay paused), in maintenance with alice fenced: a BEGIN READ
    WRITE of the application's role is refused at login; `--abort` unfences alice, starts the
    application and lifts maintenance, and the site writes to alice again."""
    as_postgres("nixie", "SELECT pg_wal_replay_pause()")
    try:
        stopped = mastofleet("cutover", INVENTORY, "--yes")
        assert stopped.returncode == 1 and "stopped at step 4" in stopped.stderr, stopped.stderr
        assert get(f"/standin/whoami?fresh={time.time_ns()}")[0] == 503
        refused = on_host("freud", APP_LOGIN)
        assert "not permitted to log in" in refused, refused
        aborted = mastofleet("cutover", INVENTORY, "--abort")
        print(f"\n{aborted.stdout}{aborted.stderr}")
        assert aborted.returncode == 0, aborted.stdout + aborted.stderr
        assert "maintenance lifted: the site serves from the old primary" in aborted.stdout
    finally:
        as_postgres("nixie", "SELECT pg_wal_replay_resume()")
    assert get(f"/standin/whoami?fresh={time.time_ns()}")[0] == 200
    before = int(psql(OLD_PRIMARY, "SELECT count(*) FROM standin_rows;\n", DATABASE))
    assert post("/standin/write?n=3") == 200
    assert int(psql(OLD_PRIMARY, "SELECT count(*) FROM standin_rows;\n", DATABASE)) == before + 3
    assert psql(OLD_PRIMARY, "SHOW default_transaction_read_only;\n").strip() == "off"
    again = mastofleet("cutover", INVENTORY, "--abort")
    assert again.returncode == 1 and "no cutover is under way: nothing to abort" in again.stderr, again.stderr


def test_the_cutover_under_load_loses_nothing(migrating) -> None:  # type: ignore[no-untyped-def]
    """The app writes until maintenance (requests through nixie, each recorded, and POST /standin/write);
    nixie's replay is paused, so the first run stops at the LSN wait with the site in maintenance and
    alice fenced; replay resumed, the second run resumes there and finishes."""
    baseline = int(psql(OLD_PRIMARY, "SELECT count(*) FROM standin_rows;\n", DATABASE))
    acknowledged: list[int] = []
    stop = threading.Event()

    def writer() -> None:
        while not stop.is_set():
            if post("/standin/write?n=5") == 200:
                acknowledged.append(5)
            time.sleep(0.05)

    writing = threading.Thread(target=writer, daemon=True)
    with Load(BALANCER, DOMAIN) as load:
        writing.start()
        time.sleep(3)
        as_postgres("nixie", "SELECT pg_wal_replay_pause()")
        first = mastofleet("cutover", INVENTORY, "--yes")
        print(f"\nfirst run:\n{first.stdout}{first.stderr}")
        assert first.returncode == 1
        assert "stopped at step 4" in first.stderr and "not equal, so it is not promoted" in first.stderr
        assert "it resumes at this step" in first.stderr
        written_before_maintenance = sum(acknowledged)
        # the window as users see it: every request answered 503 with Retry-After, streaming closed
        status, body = get(f"/standin/whoami?fresh={time.time_ns()}")
        assert status == 503 and b"moving to new servers" in body
        assert get("/api/v1/streaming/health")[0] == 503
        status, headers = request("GET", "/health")
        assert (status, headers.get("retry-after")) == (503, str(nginx.MAINTENANCE_RETRY_AFTER)), headers
        # the fence: the application's role can no longer log in, so not even BEGIN READ WRITE gets in
        refused = on_host("freud", APP_LOGIN)
        assert "not permitted to log in" in refused, refused
        as_postgres("nixie", "SELECT pg_wal_replay_resume()")
        second = mastofleet("cutover", INVENTORY, "--yes")
        print(f"\nsecond run:\n{second.stdout}{second.stderr}")
        assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-4000:]
        time.sleep(2)
        stop.set()
        writing.join(timeout=30)
    print(f"load during the cutover: {load.figures.summary()}")
    assert "resuming the cutover at: wait until the db host has replayed" in second.stdout
    window = re.search(r"maintenance window: ([\d.]+) s", second.stdout)
    assert window, second.stdout
    print(f"maintenance window (with the stopped first run and the resume): {window.group(1)} s")

    # every row written before maintenance is on the new primary: per table, count and checksum
    on_alice = max_ids(OLD_PRIMARY, DATABASE)
    alice = table_checksums(OLD_PRIMARY, DATABASE)
    nixie = table_checksums("nixie", DATABASE, on_alice)
    assert nixie == alice, {
        table: (alice.get(table), nixie.get(table)) for table in alice if alice.get(table) != nixie.get(table)
    }
    assert alice[LEGACY_TABLE][0] == LEGACY_ROWS
    written = alice["standin_rows"][0] - baseline
    assert written >= written_before_maintenance > 0, (written, written_before_maintenance)
    print(
        f"tables compared: {len(alice)}; rows written through the app before maintenance: {written}"
        f" ({written_before_maintenance} acknowledged); {sum(count for count, _ in alice.values())} rows in all"
    )

    # the old primary refuses writes; the app works against the new primary
    refused = psql(OLD_PRIMARY, "SHOW default_transaction_read_only;\n", DATABASE).strip()
    assert refused == "on"
    answer = get(f"/standin/read?fresh={time.time_ns()}")[1].decode()
    assert '"in_recovery":false' in answer and '"db_via":"10.77.0.11:6432"' in answer, answer
    before = int(as_postgres("nixie", "SELECT count(*) FROM standin_rows"))
    assert post("/standin/write?n=4") == 200
    assert int(as_postgres("nixie", "SELECT count(*) FROM standin_rows")) == before + 4
    assert {host for host, _ in served_by()} == {"freud", "fritz", "franz"}
    assert "10.77.0.11" in on_host("freud", "grep '^DB_HOST=' /etc/mastodon/env.production")


def test_db_status_after_the_cutover(migrating) -> None:  # type: ignore[no-untyped-def]
    status = mastofleet("db", "status", INVENTORY)
    print(f"\n{status.stdout}")
    assert status.returncode == 0, status.stdout + status.stderr
    assert re.search(r"^nixie \(db\)\s+primary, PostgreSQL", status.stdout, re.M), status.stdout
    assert "old primary" not in status.stdout  # the record says the migration is over


def test_a_finished_cutover_only_reports(migrating) -> None:  # type: ignore[no-untyped-def]
    again = mastofleet("cutover", INVENTORY, "--yes")
    assert again.returncode == 0, again.stderr
    assert "finished at" in again.stdout and "maintenance window:" in again.stdout
