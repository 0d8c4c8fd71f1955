"""Benchmark: how far the read replica falls behind under a write load, on the local fleet.

The fleet of tests/fleet/inventories/read_replica.py (nixie the primary, hermine its hot standby);
writers POST /standin/write?n=ROWS through nixie for --seconds; nixie's pg_stat_replication is
sampled every 0.2 s (replay lag in bytes and time). Also the time from an INSERT on the primary until
the row is readable on the replica, measured on freud 20 times. Run as root, under the fleet lock:

    flock /run/mastofleet-fleet.lock .venv/bin/python bench/read_replica.py [--writers 8] [--seconds 30]

Leaves the shared fleet as it found it: deployed from inventories/local.py, hermine powered off.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # support: the tests' helpers

from support.deploy_run import PROJECT, run_deploy  # noqa: E402
from support.old_primary import ssh  # noqa: E402

INVENTORY = "tests/fleet/inventories/read_replica.py"
ENVIRONMENT = "/home/mastodon/shared/.env.production"
LAG = (
    "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint, COALESCE(EXTRACT(epoch FROM replay_lag), 0)"
    " FROM pg_stat_replication WHERE application_name = 'hermine'"
)


def mastofleet(*arguments: str) -> None:
    subprocess.run([str(Path(sys.executable).with_name("mastofleet")), *arguments], cwd=PROJECT, check=True)


def visibility_milliseconds(samples: int) -> list[int]:
    """INSERT on the primary, then ask the replica until it has the row; milliseconds, psql logins included."""
    script = (
        f"set -a && . {ENVIRONMENT} && set +a"
        ' && primary="host=$DB_HOST port=5432 user=$DB_USER dbname=$DB_NAME password=$DB_PASS"'
        ' && replica="host=$REPLICA_DB_HOST port=5432 user=$REPLICA_DB_USER dbname=$REPLICA_DB_NAME password=$REPLICA_DB_PASS"'
        f" && for n in $(seq {samples}); do token=bench-$n-$(date +%s%N); started=$(date +%s%N)"
        ' && psql "$primary" -XqAtc "INSERT INTO standin_rows (payload) VALUES (\'$token\')"'
        ' && until [ -n "$(psql "$replica" -XtAc "SELECT 1 FROM standin_rows WHERE payload = \'$token\'")" ]; do :; done'
        " && echo $(( ($(date +%s%N) - started) / 1000000 )); done"
    )
    return [int(line) for line in ssh("freud", script).split()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--rows", type=int, default=200, help="rows per POST")
    parser.add_argument("--seconds", type=float, default=30)
    arguments = parser.parse_args()
    mastofleet("local", "up")
    mastofleet("local", "up", "hermine")
    mastofleet("secrets", "init", INVENTORY, "--generate-missing")
    try:
        deploy = run_deploy(INVENTORY)
        assert deploy.returncode == 0 and not deploy.failed, deploy.output[-5000:]
        idle = visibility_milliseconds(20)
        print(
            f"row readable on the replica after an INSERT on the primary (idle): median {statistics.median(idle)} ms, max {max(idle)} ms"
        )
        stop = threading.Event()
        written = [0]

        def writer() -> None:
            while not stop.is_set():
                answer = subprocess.run(
                    [
                        "curl",
                        "-sk",
                        "-X",
                        "POST",
                        "-H",
                        "Host: hachyderm.example",
                        f"https://10.77.0.11/standin/write?n={arguments.rows}",
                    ],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                written[0] += arguments.rows * int(f'"count":{arguments.rows}' in answer.stdout)

        workers = [threading.Thread(target=writer, daemon=True) for _ in range(arguments.writers)]
        for worker in workers:
            worker.start()
        samples = []
        started = time.monotonic()
        while time.monotonic() - started < arguments.seconds:
            lag_bytes, lag_seconds = ssh("nixie", f"runuser -u postgres -- psql -XtA -F ' ' -c \"{LAG}\"").split()
            samples.append((int(lag_bytes), float(lag_seconds)))
            time.sleep(0.2)
        loaded = visibility_milliseconds(10)
        stop.set()
        for worker in workers:
            worker.join(timeout=30)
        seconds = time.monotonic() - started
        lags = sorted(sample[1] * 1000 for sample in samples)
        print(
            f"write load: {arguments.writers} writers, {written[0]} rows in {seconds:.0f} s ({written[0] / seconds:.0f} rows/s)"
        )
        print(
            f"replica replay lag under it: {len(samples)} samples, median {statistics.median(lags):.0f} ms,"
            f" p95 {lags[int(len(lags) * 0.95) - 1]:.0f} ms, max {lags[-1]:.0f} ms;"
            f" max {max(sample[0] for sample in samples)} bytes behind"
        )
        print(
            f"row readable on the replica under that load: median {statistics.median(loaded)} ms, max {max(loaded)} ms"
        )
    finally:
        restored = run_deploy("inventories/local.py")
        assert restored.returncode == 0 and not restored.failed, restored.output[-5000:]
        mastofleet("local", "down", "hermine")
    return 0


if __name__ == "__main__":
    sys.exit(main())
