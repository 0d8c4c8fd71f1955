"""What `mastofleet media status` and `verify` print, computed on the edge host.

The old server is listed through its directory index with rclone (which the background copy uses
too), the bucket with boto3. `status` compares names and sizes: objects and bytes done of total.
`verify` also compares checksums: each file of the old server is read and hashed, and compared
with the MD5 the store keeps (the ETag of a single-part upload, else rclone's md5chksum metadata,
else the object itself is read). The migration is complete when nothing is missing or different.

    python3 -m media_edge.report status|verify [--settings /etc/mastofleet/media.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import bucket
from .queue import Queue, queue_path
from .settings import SETTINGS_FILE, Settings

CHUNK = 1024 * 1024


@dataclass
class Comparison:
    """The old server against the bucket."""

    origin_objects: int = 0
    origin_bytes: int = 0
    done_objects: int = 0
    done_bytes: int = 0
    checksummed: int = 0
    missing: list[str] = field(default_factory=list)
    different: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        # An old server that lists nothing is a wrong address or directory, not a finished migration.
        return (
            self.origin_objects > 0
            and not self.missing
            and not self.different
            and self.done_objects == self.origin_objects
        )


def origin_files(settings: Settings) -> dict[str, int]:
    """Every file the old server lists, with its size (rclone over its directory index)."""
    command = [
        "rclone",
        "lsjson",
        "--recursive",
        "--files-only",
        "--no-mimetype",
        "--http-url",
        settings.origin.rstrip("/") + "/",
        ":http:",
    ]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=3600, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"cannot list the old server {settings.origin}: {completed.stderr.strip()[-500:]}")
    return {str(item["Path"]): int(item["Size"]) for item in json.loads(completed.stdout or "[]")}


def bucket_objects(s3: Any, name: str) -> dict[str, tuple[int, str]]:
    """Every object of the bucket: key -> (size, ETag)."""
    objects: dict[str, tuple[int, str]] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
        for item in page.get("Contents", []):
            objects[str(item["Key"])] = (int(item["Size"]), str(item.get("ETag", "")).strip('"'))
    return objects


def stream_md5(stream: Any) -> str:
    digest = hashlib.md5()  # noqa: S324 - compared with S3's MD5s
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def origin_md5(settings: Settings, key: str) -> str:
    with urllib.request.urlopen(settings.origin_url(key), timeout=120) as response:  # noqa: S310
        return stream_md5(response)


def object_md5(s3: Any, name: str, key: str, etag: str) -> str:
    if etag and "-" not in etag:
        return etag.lower()
    metadata = bucket.head(s3, name, key) or {}
    stored = bucket.stored_md5(metadata)
    if stored:
        return stored
    return stream_md5(s3.get_object(Bucket=name, Key=key)["Body"])


def compare(settings: Settings, s3: Any, checksums: bool) -> Comparison:
    origin = origin_files(settings)
    objects = bucket_objects(s3, settings.bucket)
    result = Comparison(origin_objects=len(origin), origin_bytes=sum(origin.values()))
    for key in sorted(origin):
        size = origin[key]
        if key not in objects:
            result.missing.append(key)
            continue
        stored_size, etag = objects[key]
        if stored_size != size:
            result.different.append(key)
            continue
        if checksums:
            result.checksummed += 1
            if origin_md5(settings, key) != object_md5(s3, settings.bucket, key, etag):
                result.different.append(key)
                continue
        result.done_objects += 1
        result.done_bytes += size
    return result


def writeback_figures(settings: Settings) -> dict[str, int]:
    path = queue_path(settings.state_directory)
    if not path.exists():
        return {"pending": 0}
    queue = Queue(path)
    try:
        return {"pending": queue.pending_count(), **queue.totals()}
    finally:
        queue.close()


def copy_figures(settings: Settings) -> dict[str, Any]:
    """The last progress line of the background copy (rclone's JSON stats), if it ran yet."""
    path = Path(settings.copy_log)
    if not path.exists():
        return {}
    last: dict[str, Any] = {}
    with path.open(errors="replace") as log:
        for line in log:
            if '"stats"' not in line:
                continue
            try:
                last = json.loads(line)
            except ValueError:
                continue
    stats = last.get("stats") or {}
    return {
        "time": last.get("time"),
        "transferred_objects": stats.get("transfers"),
        "transferred_bytes": stats.get("bytes"),
        "errors": stats.get("errors"),
        "speed_bytes_per_second": stats.get("speed"),
        "elapsed_seconds": stats.get("elapsedTime"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="media_edge.report", description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("status", "verify"))
    parser.add_argument("--settings", default=SETTINGS_FILE)
    arguments = parser.parse_args(argv)
    settings = Settings.load(arguments.settings)
    s3 = bucket.client(settings)
    comparison = compare(settings, s3, checksums=arguments.what == "verify")
    report = {
        **asdict(comparison),
        "complete": comparison.complete,
        "writeback": writeback_figures(settings),
        "copy": copy_figures(settings),
    }
    json.dump(report, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
