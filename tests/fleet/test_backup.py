"""Backups on the local fleet, end to end: pgBackRest archives WAL and takes backups into a bucket,
`mastofleet backup restore --to TIME` brings a destroyed database back to a chosen point, and the
archive's size guard keeps pg_wal from filling the disk while the bucket is unreachable.

Real parts: PostgreSQL 17 and pgBackRest (Debian's) on nixie, deployed by the real deploy.py from
tests/fleet/inventories/backup.py, rclone for the Redis dump. The S3 server is moto with TLS
(Debian's python3-moto on outsider, tests/support/backup_fleet.py): it stands in for the provider's
object storage, which cannot be reached from here. Tests run in file order and share state; at the
end the local fleet is deployed again without backups (its normal state).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fleet_support import get, mastofleet, on_host

from mastofleet.local.machines import state_directory
from support import backup_fleet
from support.deploy_run import DeployResult, run_deploy

pytestmark = [pytest.mark.fleet, pytest.mark.changes_fleet]

INVENTORY = "tests/fleet/inventories/backup.py"
TABLE = "security_backup_probe"
FIRST_ROWS = 1000
LATER_ROWS = 500


def sql(query: str) -> str:
    """A query as postgres on nixie (psql over the local socket)."""
    return on_host("nixie", f"sudo -n -u postgres psql -XtAq -d mastodon_production -c {json.dumps(query)}")


def digest() -> tuple[int, str]:
    count, checksum = sql(
        f"SELECT count(*), md5(coalesce(string_agg(id || ':' || payload, ',' ORDER BY id), '')) FROM {TABLE}"
    ).split("|")
    return int(count), checksum


def insert(first: int, count: int) -> None:
    sql(
        f"INSERT INTO {TABLE} (id, payload) SELECT n, md5(n::text) FROM generate_series({first}, {first + count - 1}) n"
    )


@pytest.fixture(scope="module")
def backed_up(first_deploy: DeployResult) -> Iterator[None]:
    if os.geteuid() != 0 or not shutil.which("systemd-nspawn"):
        pytest.skip("the local fleet needs root and systemd-nspawn")
    backup_fleet.start_backup_store(fresh=True)
    result = run_deploy(INVENTORY)
    assert result.returncode == 0 and not result.failed, f"deploy failed: {result.failed}\n{result.output}"
    yield
    backup_fleet.stop_backup_store()


def test_archiving_is_on_and_the_timers_are_enabled(backed_up: None) -> None:
    assert sql("SHOW archive_mode") == "on"
    assert "pgbackrest --stanza=hachyderm archive-push" in sql("SHOW archive_command")
    for timer in ("mastofleet-backup-full.timer", "mastofleet-backup-diff.timer", "mastofleet-backup-files.timer"):
        assert on_host("nixie", f"systemctl is-enabled {timer}; systemctl is-active {timer}").split() == [
            "enabled",
            "active",
        ], timer


def test_point_in_time_restore_of_a_destroyed_database(backed_up: None) -> None:
    """Known rows, a backup, more rows, the database destroyed, a restore to the point between:
    the first rows are back with their checksum, the later ones are not."""
    sql(f"DROP TABLE IF EXISTS {TABLE}; CREATE TABLE {TABLE} (id integer PRIMARY KEY, payload text NOT NULL)")
    insert(1, FIRST_ROWS)
    before = digest()
    result = mastofleet("backup", "now", INVENTORY)
    assert result.returncode == 0, result.stderr
    print(f"\n{result.stdout.strip()}")
    time.sleep(1.5)
    point = sql("SELECT now()")
    time.sleep(1.5)
    insert(FIRST_ROWS + 1, LATER_ROWS)
    assert digest()[0] == FIRST_ROWS + LATER_ROWS
    backup_fleet.archive_now()

    on_host("nixie", "systemctl stop pgbouncer postgresql@17-main && rm -rf /var/lib/postgresql/17/main")
    started = time.monotonic()
    result = mastofleet("backup", "restore", INVENTORY, "--to", point, "--yes")
    seconds = time.monotonic() - started
    assert result.returncode == 0, result.stderr + result.stdout
    print(f"restore of nixie to {point}: {seconds:.1f} s")
    assert digest() == before, "the rows written before the restore point differ after the restore"
    assert sql(f"SELECT count(*) FROM {TABLE} WHERE id > {FIRST_ROWS}") == "0"
    status, _ = get("/health")
    assert status == 200, "the site does not answer after the restore"


def test_list_shows_the_backups_and_the_archive(backed_up: None) -> None:
    result = mastofleet("backup", "list", INVENTORY)
    assert result.returncode == 0, result.stderr
    assert " full " in result.stdout and "archived WAL: " in result.stdout and "status: ok" in result.stdout


def test_redis_dump_and_secrets_file_are_in_the_bucket(backed_up: None) -> None:
    client = backup_fleet.client()
    keys = [item["Key"] for item in client.list_objects_v2(Bucket=backup_fleet.BUCKET, Prefix="files/")["Contents"]]
    dumps = [key for key in keys if key.startswith("files/redis/dump-") and key.endswith(".rdb")]
    assert dumps, keys
    dump = client.get_object(Bucket=backup_fleet.BUCKET, Key=dumps[-1])["Body"].read()
    assert dump.startswith(b"REDIS"), "the uploaded dump is not an RDB file"
    stored = client.get_object(Bucket=backup_fleet.BUCKET, Key="files/secrets/hachyderm.json")["Body"].read()
    local = Path(state_directory() / "secrets.json").read_bytes()
    assert hashlib.sha256(stored).hexdigest() == hashlib.sha256(local).hexdigest()


def test_the_archive_queue_cannot_fill_the_disk(backed_up: None) -> None:
    """With the bucket unreachable, WAL piles up only to archive_queue_max_mb (256 MB here): then
    pgBackRest drops it and PostgreSQL keeps running; once a bucket is back (the local store keeps
    objects in memory only, so it comes back empty, as a replaced store would), the stanza is created
    again and a backup mends the chain."""
    backup_fleet.stop_backup_store()
    try:
        sql("CREATE TABLE IF NOT EXISTS security_wal_filler (n integer)")
        for _ in range(40):  # 40 segments of 16 MB: 640 MB of WAL, far above the guard
            sql("INSERT INTO security_wal_filler VALUES (1); SELECT pg_switch_wal()")
        # PostgreSQL's archiver waits a minute after three failures in a row before it tries again.
        deadline = time.monotonic() + 240
        while True:
            waiting = int(
                on_host("nixie", "ls /var/lib/postgresql/17/main/pg_wal/archive_status | grep -c '[.]ready$' || true")
            )
            if waiting * 16 <= 256 + 3 * 16 or time.monotonic() > deadline:
                break
            time.sleep(5)
        log = on_host(
            "nixie",
            "tail -n 400 /var/log/postgresql/postgresql-17-main.log; cat /var/log/pgbackrest/*archive-push*.log",
        )
        print(f"\nWAL waiting for the unreachable bucket after 640 MB of WAL: {waiting * 16} MB (guard 256 MB)")
        assert "because archive queue exceeded" in log, "pgBackRest did not report dropping WAL"
        assert waiting * 16 <= 256 + 3 * 16, f"{waiting} segments wait for the archive"
        assert sql("SELECT 1") == "1"
    finally:
        backup_fleet.start_backup_store()
    on_host("nixie", "sudo -n -u postgres pgbackrest --stanza=hachyderm stanza-create")
    # PostgreSQL's archiver backs off after failures: let it ship again before the backup, which
    # waits for its own WAL to be archived only so long.
    backup_fleet.archive_now()
    result = mastofleet("backup", "now", INVENTORY)
    assert result.returncode == 0, result.stderr
