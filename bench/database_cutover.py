"""Benchmark: evacuating a 1 GB database from an old primary on the local fleet.

Prints the old primary's size; the base backup that built nixie as its replica (bytes, seconds,
MB/s, as the build script recorded it); the catch-up rate of a replica that was down while the old
primary wrote (WAL bytes from nixie's start until its replay position equals alice's, and the
rate); and the maintenance window of a `mastofleet cutover` under load (requests and writes through
nixie) with each step's time. alice is the old primary (tests/support/old_primary.py), nixie the
db host, from tests/fleet/inventories/database_migration.py. Run as root, under the fleet lock:

    flock /run/mastofleet-fleet.lock .venv/bin/python bench/database_cutover.py [--rows 3200000]

Leaves the shared fleet as it found it: nixie a primary, deployed from inventories/local.py.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # support: the tests' helpers

from mastofleet.database.queries import lsn_bytes  # noqa: E402
from mastofleet.local.machines import MACHINES, state_directory  # noqa: E402
from support.deploy_run import PROJECT, run_deploy  # noqa: E402
from support.load import Load  # noqa: E402
from support.old_primary import (  # noqa: E402
    OLD_PRIMARY,
    as_postgres,
    psql,
    put_shared_fleet_back,
    ssh,
    start_old_primary,
)

INVENTORY = "tests/fleet/inventories/database_migration.py"
RECORD = state_directory() / "database-cutover.json"
DATABASE = "mastodon_production"
BALANCER = MACHINES["nixie"].address
DOMAIN = "hachyderm.example"


def mastofleet(*arguments: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).with_name("mastofleet")), *arguments]
    return subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, check=False)


def database_size(host: str) -> int:
    return int(psql(host, f"SELECT pg_database_size('{DATABASE}');\n").strip())


def catch_up(megabytes: int) -> tuple[int, float]:
    """nixie down while alice writes about `megabytes` of WAL; then (WAL bytes, seconds from nixie
    answering again until its replay position equals alice's)."""
    ssh("nixie", "systemctl stop postgresql@17-main")
    before = lsn_bytes(psql(OLD_PRIMARY, "SELECT pg_current_wal_lsn();\n").strip())
    rows = megabytes * 3000  # about 330 bytes of WAL per row
    psql(
        OLD_PRIMARY,
        "CREATE TABLE bench_catch_up AS SELECT i, repeat(md5(i::text), 8) AS text"
        f" FROM generate_series(1, {rows}) AS i;\n",
        DATABASE,
    )
    target = lsn_bytes(psql(OLD_PRIMARY, "SELECT pg_current_wal_lsn();\n").strip())
    ssh("nixie", "systemctl start postgresql@17-main")
    started = time.monotonic()
    while lsn_bytes(as_postgres("nixie", "SELECT pg_last_wal_replay_lsn()") or "0/0") < target:
        time.sleep(0.1)
    seconds = time.monotonic() - started
    psql(OLD_PRIMARY, "DROP TABLE bench_catch_up;\n", DATABASE)
    return target - before, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3_200_000, help="generated rows on alice (about 330 B each)")
    parser.add_argument("--catch-up-mb", type=int, default=256, help="WAL written while the replica is down")
    arguments = parser.parse_args()
    assert mastofleet("local", "up").returncode == 0
    assert mastofleet("secrets", "init", INVENTORY, "--generate-missing").returncode == 0
    RECORD.unlink(missing_ok=True)
    try:
        started = time.monotonic()
        start_old_primary(INVENTORY, arguments.rows)
        print(
            f"old primary: {database_size(OLD_PRIMARY) / 1e9:.2f} GB in {DATABASE}, prepared in {time.monotonic() - started:.0f} s"
        )
        deploy = run_deploy(INVENTORY)
        assert deploy.returncode == 0 and not deploy.failed, deploy.output[-5000:]
        built = json.loads(ssh("nixie", "cat /var/lib/postgresql/mastofleet-standby.json"))
        seconds = built["milliseconds"] / 1000
        print(
            f"base backup (pg_basebackup over TLS into the slot): {built['bytes'] / 1e9:.2f} GB in {seconds:.1f} s"
            f" = {built['bytes'] / seconds / 1e6:.1f} MB/s; deploy {deploy.seconds:.0f} s"
        )
        wal, caught = catch_up(arguments.catch_up_mb)
        print(
            f"catch-up of a replica that was down: {wal / 1e6:.0f} MB of WAL in {caught:.1f} s = {wal / caught / 1e6:.1f} MB/s"
        )
        time.sleep(5)
        stop = threading.Event()
        writes = [0]

        def writer() -> None:
            while not stop.is_set():
                answer = subprocess.run(
                    ["curl", "-sk", "-X", "POST", "-H", f"Host: {DOMAIN}", f"https://{BALANCER}/standin/write?n=20"],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                writes[0] += int('"count":20' in answer.stdout)

        thread = threading.Thread(target=writer, daemon=True)
        with Load(BALANCER, DOMAIN) as load:
            thread.start()
            time.sleep(5)
            result = mastofleet("cutover", INVENTORY, "--yes")
            time.sleep(2)
            stop.set()
            thread.join(timeout=30)
        if result.returncode != 0:
            print(result.stdout[-5000:], result.stderr[-5000:])
            return 1
        window = re.search(r"maintenance window: ([\d.]+) s", result.stdout)
        print(
            f"maintenance window of the cutover: {window.group(1) if window else '?'} s (database {database_size('nixie') / 1e9:.2f} GB)"
        )
        record = json.loads(RECORD.read_text())
        for name, facts in record["steps"].items():
            print(f"  {name}: {facts['seconds_taken']:.1f} s")
        for line in result.stdout.splitlines():
            if line.startswith(
                ("  old primary", "  nixie", "  lag samples", "  disk", "catch-up after", "replay rate")
            ):
                print(line.strip())
        print(f"load: {load.figures.summary()}; {writes[0]} writes of 20 rows acknowledged")
    finally:
        put_shared_fleet_back(RECORD)
    return 0


if __name__ == "__main__":
    sys.exit(main())
