"""Benchmark: a pgBackRest backup of a database of at least 1 GB and its restore, on the local fleet.

Generates the database `bench` on nixie with pgbench (scale 70: about 1.05 GB of tables and
indexes), deploys the fleet with backups on (tests/fleet/inventories/backup.py, the TLS S3 stand-in
on outsider), then prints: the cluster's size, the duration of `mastofleet backup now` (full) and
the size pgBackRest reports (database and stored, zstd-compressed), and the duration of `mastofleet
backup restore --to NOW` onto a destroyed data directory, with the row count checked. Afterwards
the bench database is dropped and the fleet deployed again without backups. Too slow for CI (several
minutes): run as root, under the fleet lock:

    flock /run/mastofleet-fleet.lock .venv/bin/python bench/backup.py [--scale 70]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # support: the tests' helpers

from support import backup_fleet  # noqa: E402
from support.deploy_run import PROJECT, run_deploy  # noqa: E402
from support.media_fleet import ssh  # noqa: E402

INVENTORY = "tests/fleet/inventories/backup.py"


def psql(query: str, database: str = "bench") -> str:
    return ssh("nixie", f'sudo -n -u postgres psql -XtAq -d {database} -c "{query}"').strip()


def mastofleet(*arguments: str) -> tuple[float, str]:
    started = time.monotonic()
    result = subprocess.run(
        [str(Path(sys.executable).with_name("mastofleet")), *arguments],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"mastofleet {' '.join(arguments)} failed: {result.stderr}{result.stdout}")
    return time.monotonic() - started, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=70, help="pgbench scale (70: about 1.05 GB)")
    arguments = parser.parse_args()
    backup_fleet.start_backup_store(fresh=True)
    assert run_deploy(INVENTORY).returncode == 0, "deploy with backups failed"
    try:
        psql("DROP DATABASE IF EXISTS bench", "postgres")
        psql("CREATE DATABASE bench", "postgres")
        started = time.monotonic()
        ssh(
            "nixie",
            f"sudo -n -u postgres /usr/lib/postgresql/17/bin/pgbench -q -i -s {arguments.scale} bench",
            timeout=3600,
        )
        generated = time.monotonic() - started
        size = int(psql("SELECT sum(pg_database_size(datname)) FROM pg_database", "postgres"))
        rows = psql("SELECT count(*) FROM pgbench_accounts")
        print(
            f"generated: pgbench scale {arguments.scale} in {generated:.0f} s; cluster {size / 1e9:.2f} GB; {rows} accounts"
        )
        seconds, output = mastofleet("backup", "now", INVENTORY, "--type", "full")
        print(f"backup now (full): {seconds:.1f} s wall; {output.splitlines()[0]}")
        point = psql("SELECT now()", "postgres")
        time.sleep(1)
        psql("INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (1, 1, 1, 1, now())")
        backup_fleet.archive_now()
        ssh("nixie", "systemctl stop pgbouncer postgresql@17-main && rm -rf /var/lib/postgresql/17/main")
        seconds, _ = mastofleet("backup", "restore", INVENTORY, "--to", point, "--yes")
        restored = psql("SELECT count(*) FROM pgbench_accounts")
        history = psql("SELECT count(*) FROM pgbench_history")
        print(
            f"restore --to {point} onto an empty data directory: {seconds:.1f} s; {restored} accounts, {history} history rows (0 expected)"
        )
        assert restored == rows and history == "0"
    finally:
        psql("DROP DATABASE IF EXISTS bench", "postgres")
        assert run_deploy("inventories/local.py").returncode == 0
        backup_fleet.stop_backup_store()


if __name__ == "__main__":
    main()
