"""Benchmark: the edge's media path and the migration's throughput on the local fleet.

Prints requests per second for one cached media file at the edge (X-Cache-Status HIT) against files
fetched through to the old server (each asked once: bucket miss, then alice), and the migration
throughput (files/s, MB/s) of the write-back service (bandwidth limit lifted for the run) and of the
background copy (rclone at the inventory's --bwlimit). Load comes from this machine over the fleet
bridge, bounded in count and time. Run as root, under the fleet lock:

    flock /run/mastofleet-fleet.lock .venv/bin/python bench/media_edge.py
"""

from __future__ import annotations

import http.client
import json
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # support: the tests' helpers

from support.deploy_run import PROJECT, run_deploy  # noqa: E402
from support.media_fleet import (  # noqa: E402
    MACHINES,
    MEDIA_HOST,
    MediaFile,
    fresh_bucket,
    media_files,
    reset_migration,
    restore_shared_fleet,
    ssh,
    start_object_store,
    start_old_server,
    wait_for,
)

INVENTORY = "tests/fleet/inventories/media_migration.py"
BUCKET = "hachyderm-media"
THREADS = 8
SECONDS = 10.0


def mastofleet(*arguments: str) -> None:
    subprocess.run([str(Path(sys.executable).with_name("mastofleet")), *arguments], cwd=PROJECT, check=True)


def edge_connection() -> http.client.HTTPSConnection:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the local fleet's certificate is self-signed
    return http.client.HTTPSConnection(str(MACHINES["esme"].address), 443, timeout=60, context=context)


def load(paths: list[str], seconds: float, threads: int = THREADS) -> tuple[int, int, float, list[int]]:
    """GET the paths (cycling, or each once when `seconds` is 0) from `threads` workers, each on one
    kept-alive HTTPS connection as a browser would: (requests, bytes, seconds, statuses)."""
    lock = threading.Lock()
    queue = list(reversed(paths))
    counts = {"requests": 0, "bytes": 0}
    statuses: list[int] = []
    deadline = time.monotonic() + seconds

    def worker(offset: int) -> None:
        index = offset
        connection = edge_connection()
        try:
            while True:
                with lock:
                    if seconds == 0:
                        if not queue:
                            return
                        path = queue.pop()
                    elif time.monotonic() > deadline:
                        return
                    else:
                        path = paths[index % len(paths)]
                        index += threads
                connection.request("GET", path, headers={"Host": MEDIA_HOST})
                response = connection.getresponse()
                body = response.read()
                with lock:
                    counts["requests"] += 1
                    counts["bytes"] += len(body)
                    statuses.append(response.status)
        finally:
            connection.close()

    started = time.monotonic()
    workers = [threading.Thread(target=worker, args=(offset,)) for offset in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return counts["requests"], counts["bytes"], time.monotonic() - started, statuses


def writeback_totals() -> dict[str, int]:
    script = (
        "import sqlite3,json;c=sqlite3.connect('/var/lib/mastofleet-media/writeback.sqlite');"
        "print(json.dumps({'pending':c.execute('select count(*) from pending').fetchone()[0],"
        "**dict(c.execute('select name,value from totals'))}))"
    )
    return json.loads(ssh("esme", f'python3 -c "{script}"'))  # type: ignore[no-any-return]


def rate(requests: int, size: int, elapsed: float) -> str:
    return (
        f"{requests / elapsed:8.0f} req/s  {size / elapsed / 1e6:6.1f} MB/s  ({requests} requests in {elapsed:.1f} s)"
    )


def drained(started: float) -> tuple[dict[str, int], float]:
    """Wait until the write-back's queue is empty; its totals and the seconds since `started`."""
    assert wait_for(lambda: writeback_totals().get("pending", 1) == 0, 900, 0.5), "the write-back never caught up"
    return writeback_totals(), time.monotonic() - started


def throughput(files: int, size: int, spent: float) -> str:
    return f"{files / spent:8.1f} files/s {size / spent / 1e6:6.2f} MB/s  ({files} files, {size / 1e6:.1f} MB in {spent:.1f} s)"


def main() -> int:
    files = media_files()
    mastofleet("local", "up")
    mastofleet("secrets", "init", "inventories/local.py", "--generate-missing")
    start_object_store()
    start_old_server(files, [MACHINES["esme"].address])
    try:
        return measure(files)
    finally:
        restored = restore_shared_fleet()
        print(f"esme deployed from inventories/local.py again: {'ok' if restored.returncode == 0 else restored.output}")


def measure(files: list[MediaFile]) -> int:
    deployed = run_deploy(INVENTORY)
    if deployed.returncode != 0:
        print(deployed.output)
        return 1
    # Lift the write-back's bandwidth limit for the run (the next deploy puts the inventory's back).
    ssh("esme", 'sed -i \'s/"bandwidth_mb": [0-9.]*/"bandwidth_mb": 0/\' /etc/mastofleet/media.json')
    reset_migration(BUCKET)

    small: list[MediaFile] = [item for item in files if 20_000 <= item.size <= 40_000]
    hot = "/" + small[0].key
    load([hot], 0)
    requests, size, elapsed, statuses = load([hot], SECONDS)
    assert set(statuses) == {200}, set(statuses)
    print(f"cached file at the edge ({small[0].size / 1000:.0f} kB, HIT, {THREADS} clients on kept-alive HTTPS):")
    print(f"  {rate(requests, size, elapsed)}")

    through = ["/" + item.key for item in small[1:301]]
    started = time.monotonic()
    requests, size, elapsed, statuses = load(through, 0)
    assert set(statuses) == {200}, set(statuses)
    print(f"fetched through to the old server (bucket miss, then alice; {len(through)} files of 20-40 kB, each once):")
    print(f"  {rate(requests, size, elapsed)}")
    before, spent = drained(started)
    print("write-back of those (first request until its queue was empty):")
    print(f"  {throughput(before.get('uploaded', 0), before.get('uploaded_bytes', 0), spent)}")

    # Mixed sizes as users would ask for them: every 4th file not asked yet, videos of several MB included.
    asked = {item.key for item in small[:301]}
    mixed = [item for item in files[::4] if item.key not in asked]
    started = time.monotonic()
    requests, size, elapsed, statuses = load(["/" + item.key for item in mixed], 0)
    assert set(statuses) == {200}, set(statuses)
    after, spent = drained(started)
    uploaded = after.get("uploaded", 0) - before.get("uploaded", 0)
    uploaded_bytes = after.get("uploaded_bytes", 0) - before.get("uploaded_bytes", 0)
    print(f"write-back of mixed sizes ({len(mixed)} files of 1 kB-12 MB, first request until the queue was empty):")
    print(f"  {throughput(uploaded, uploaded_bytes, spent)}  {after.get('failures', 0)} failed attempts")

    fresh_bucket(BUCKET)
    ssh("esme", "rm -f /var/lib/mastofleet-media/copy.log")
    started = time.monotonic()
    ssh("esme", "systemctl start mastofleet-media-copy.service", timeout=3600)
    spent = time.monotonic() - started
    total = sum(item.size for item in files)
    print(f"background copy (rclone into an empty bucket, --bwlimit 40M, 4 transfers, all {len(files)} files):")
    print(f"  {throughput(len(files), total, spent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
