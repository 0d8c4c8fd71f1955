"""The write-back service: every file the old server served through the edge goes into the bucket.

nginx logs each answer of the old server (`origin_log`); this service queues those keys durably
(`queue`), fetches each file from the old server into a temporary file, and uploads it in one PUT
with Content-MD5, so the store keeps exactly those bytes or nothing: an interrupted upload leaves no
object, never a partial one. The object is then read back (HEAD: size and MD5) before the key leaves
the queue; failures are retried with backoff. A file the bucket already holds at the same size
(copied by the background rclone) is not fetched again.

    python3 -m media_edge.writeback [--settings /etc/mastofleet/media.json] [--once]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from . import bucket
from .origin_log import ingest
from .queue import Queue, queue_path
from .settings import SETTINGS_FILE, Settings

CHUNK = 256 * 1024


@dataclass(frozen=True)
class Fetched:
    """A complete copy of one file of the old server, on local disk."""

    path: Path
    size: int
    md5: str
    content_type: str


class Incomplete(Exception):
    """The old server sent fewer or more bytes than it announced."""


class Throttled:
    """A file reader that keeps to a bandwidth (MB/s), for uploads that must not flood the link."""

    def __init__(self, stream: IO[bytes], megabytes_per_second: float) -> None:
        self.stream = stream
        self.rate = megabytes_per_second * 1024 * 1024
        self.started = time.monotonic()
        self.sent = 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(min(size, CHUNK) if size and size > 0 else CHUNK)
        self.sent += len(data)
        if self.rate > 0:
            ahead = self.sent / self.rate - (time.monotonic() - self.started)
            if ahead > 0:
                time.sleep(ahead)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        position = self.stream.seek(offset, whence)
        if position == 0:
            self.started, self.sent = time.monotonic(), 0
        return position

    def tell(self) -> int:
        return self.stream.tell()


def fetch(settings: Settings, key: str, directory: Path) -> Fetched | None:
    """Download `key` from the old server; None when it has no such file. Raises on a short answer."""
    request = urllib.request.Request(settings.origin_url(key), headers={"User-Agent": "mastofleet-writeback"})
    try:
        response = urllib.request.urlopen(request, timeout=60)  # noqa: S310 - the origin URL comes from the model
    except urllib.error.HTTPError as error:
        if error.code in (403, 404, 410):
            return None
        raise
    with response:
        announced = response.headers.get("Content-Length")
        content_type = response.headers.get_content_type() if response.headers.get("Content-Type") else ""
        digest = hashlib.md5()  # noqa: S324 - S3's own integrity check is MD5
        handle = tempfile.NamedTemporaryFile(dir=directory, delete=False)  # noqa: SIM115 - kept past the with
        path = Path(handle.name)
        size = 0
        try:
            with handle:
                while chunk := response.read(CHUNK):
                    digest.update(chunk)
                    handle.write(chunk)
                    size += len(chunk)
            if announced is not None and int(announced) != size:
                raise Incomplete(f"{key}: the old server announced {announced} bytes and sent {size}")
        except BaseException:
            path.unlink(missing_ok=True)
            raise
    return Fetched(path, size, digest.hexdigest(), content_type or "application/octet-stream")


def upload(settings: Settings, s3: Any, key: str, fetched: Fetched) -> None:
    """One PUT with Content-MD5 (the store refuses other bytes), then read back size and MD5."""
    md5_base64 = base64.b64encode(bytes.fromhex(fetched.md5)).decode()
    arguments: dict[str, Any] = {
        "Bucket": settings.bucket,
        "Key": key,
        "ContentLength": fetched.size,
        "ContentMD5": md5_base64,
        "ContentType": fetched.content_type,
        "Metadata": {bucket.MD5_METADATA: md5_base64},
    }
    if settings.permission:
        arguments["ACL"] = settings.permission
    with fetched.path.open("rb") as stream:
        s3.put_object(Body=Throttled(stream, settings.bandwidth_mb), **arguments)
    stored = bucket.head(s3, settings.bucket, key)
    if (
        stored is None
        or int(stored.get("ContentLength", -1)) != fetched.size
        or bucket.stored_md5(stored) != fetched.md5
    ):
        raise Incomplete(f"{key}: the bucket's copy does not match what the old server sent")


def write_back(settings: Settings, s3: Any, key: str, directory: Path) -> tuple[str, int]:
    """Bring one key into the bucket: ('uploaded'|'present'|'gone', bytes)."""
    present = bucket.head(s3, settings.bucket, key)
    if present is not None and origin_size(settings, key) == int(present.get("ContentLength", -1)):
        return "present", int(present["ContentLength"])
    fetched = fetch(settings, key, directory)
    if fetched is None:
        return "gone", 0
    try:
        if present is not None and bucket.stored_md5(present) == fetched.md5:
            return "present", fetched.size
        print(f"uploading {key} ({fetched.size} bytes, md5 {fetched.md5})", flush=True)
        upload(settings, s3, key, fetched)
        print(f"uploaded {key}", flush=True)
        return "uploaded", fetched.size
    finally:
        fetched.path.unlink(missing_ok=True)


def origin_size(settings: Settings, key: str) -> int | None:
    """The old server's size for `key` (a HEAD: no read of the file itself), None when unknown."""
    request = urllib.request.Request(settings.origin_url(key), method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            length = response.headers.get("Content-Length")
            return int(length) if length is not None else None
    except (urllib.error.URLError, OSError, ValueError):
        return None


def temporary_directory(settings: Settings) -> Path:
    """Where downloads land; emptied at start, so a killed run leaves nothing behind."""
    directory = Path(settings.state_directory) / "incoming"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def process_due(settings: Settings, queue: Queue, s3: Any, directory: Path) -> int:
    """Work through the keys due now; returns how many were handled (done or put back)."""
    handled = 0
    for item in queue.due():
        try:
            outcome, size = write_back(settings, s3, item.key, directory)
        except Exception as error:  # any failure is retried later: the key stays queued
            delay = queue.failed(item.key, item.attempts, f"{type(error).__name__}: {error}")
            print(f"failed {item.key} (attempt {item.attempts + 1}, retry in {delay:.0f} s): {error}", flush=True)
        else:
            queue.done(item.key, outcome, size)
        handled += 1
    return handled


def run(settings: Settings, once: bool = False, poll_seconds: float = 1.0) -> None:
    queue = Queue(queue_path(settings.state_directory))
    s3 = bucket.client(settings)
    directory = temporary_directory(settings)
    try:
        while True:
            ingest(queue, settings.origin_log)
            handled = process_due(settings, queue, s3, directory)
            if once and not queue.due(limit=1):
                return
            if not handled:
                time.sleep(poll_seconds)
    finally:
        queue.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="media_edge.writeback", description=__doc__.splitlines()[0])
    parser.add_argument("--settings", default=SETTINGS_FILE)
    parser.add_argument("--once", action="store_true", help="stop when nothing is due (tests, benchmarks)")
    arguments = parser.parse_args(argv)
    run(Settings.load(arguments.settings), once=arguments.once)
    return 0


if __name__ == "__main__":
    sys.exit(main())
