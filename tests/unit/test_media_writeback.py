"""The write-back service against real servers on loopback: moto's S3 server for the bucket (the
real store cannot be reached here) and an HTTP server over a directory for the old origin."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from media_servers import BUCKET, CREDENTIALS, make_bucket, origin_gets, origin_server, s3_server, settings_for

from mastofleet.agents.media_edge import bucket, writeback
from mastofleet.agents.media_edge.origin_log import ingest, key_of
from mastofleet.agents.media_edge.queue import Queue, queue_path
from mastofleet.agents.media_edge.settings import Settings

FILES = {
    "media_attachments/files/110/000/001/original/a.png": os.urandom(1000),
    "media_attachments/files/110/000/002/original/b.mp4": os.urandom(300_000),
    "accounts/avatars/000/000/001/original/c.jpg": b"",
}


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Settings, Path]]:
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    origin_directory = tmp_path / "origin"
    for key, content in FILES.items():
        path = origin_directory / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    with s3_server() as endpoint, origin_server(origin_directory) as origin:
        make_bucket(endpoint)
        yield settings_for(endpoint, origin, tmp_path / "state"), origin_directory


def log(settings: Settings, *lines: str) -> None:
    path = Path(settings.origin_log)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        handle.writelines(line + "\n" for line in lines)


def stored(settings: Settings, key: str) -> tuple[bytes, dict[str, object]] | None:
    s3 = bucket.client(settings)
    metadata = bucket.head(s3, settings.bucket, key)
    if metadata is None:
        return None
    return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read(), metadata


def test_key_of_takes_only_answers_of_the_old_server() -> None:
    assert key_of("200 404 : 200 /media_attachments/x.png") == "media_attachments/x.png"
    assert key_of("200 403, 200 /a%20b.png") == "a b.png"
    assert key_of("404 404 : 404 /missing.png") is None
    assert key_of("200 200 /from-the-bucket.png") == "from-the-bucket.png"  # a lone 200 is the old server too
    assert key_of("200 404 : 502 /x.png") is None
    assert key_of("200 404 : 200 /../etc/passwd") is None


def test_every_served_file_lands_in_the_bucket_with_its_checksum(world: tuple[Settings, Path]) -> None:
    settings, _ = world
    log(settings, *(f"200 404 : 200 /{key}" for key in FILES), "404 404 : 404 /nowhere.png")
    writeback.run(settings, once=True)
    for key, content in FILES.items():
        found = stored(settings, key)
        assert found is not None, f"{key} is not in the bucket"
        body, metadata = found
        assert hashlib.md5(body).hexdigest() == hashlib.md5(content).hexdigest()  # noqa: S324
        assert bucket.stored_md5(metadata) == hashlib.md5(content).hexdigest()  # noqa: S324
    queue = Queue(queue_path(settings.state_directory))
    assert queue.pending_count() == 0
    assert queue.totals()["uploaded"] == len(FILES)
    assert queue.totals()["uploaded_bytes"] == sum(len(content) for content in FILES.values())


def test_a_file_gone_from_the_old_server_is_dropped(world: tuple[Settings, Path]) -> None:
    settings, _ = world
    log(settings, "200 404 : 200 /media_attachments/vanished.png")
    writeback.run(settings, once=True)
    assert stored(settings, "media_attachments/vanished.png") is None
    assert Queue(queue_path(settings.state_directory)).totals() == {"gone": 1, "gone_bytes": 0}


def test_an_upload_cut_off_leaves_no_object_and_the_key_queued(
    world: tuple[Settings, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection dies half-way through the PUT (as when the service is killed): no partial
    object exists afterwards, the key is still queued, and the next run uploads the whole file."""
    settings, _ = world
    key = "media_attachments/files/110/000/002/original/b.mp4"
    log(settings, f"200 404 : 200 /{key}")
    original_read = writeback.Throttled.read

    def dying_read(self: writeback.Throttled, size: int = -1) -> bytes:
        if self.sent > 100_000:
            raise ConnectionResetError("killed mid-upload")
        return original_read(self, size)

    monkeypatch.setattr(writeback.Throttled, "read", dying_read)
    queue = Queue(queue_path(settings.state_directory))
    ingest(queue, settings.origin_log)
    writeback.process_due(settings, queue, bucket.client(settings), writeback.temporary_directory(settings))
    assert stored(settings, key) is None, "a partial upload became an object"
    assert queue.pending_count() == 1
    monkeypatch.setattr(writeback.Throttled, "read", original_read)
    queue.connection.execute("UPDATE pending SET next_try = 0")
    writeback.run(settings, once=True)
    found = stored(settings, key)
    assert found is not None and found[0] == FILES[key]


def test_a_short_answer_of_the_old_server_is_never_uploaded(world: tuple[Settings, Path]) -> None:
    settings, origin_directory = world
    key = "media_attachments/files/110/000/001/original/a.png"
    fetched = writeback.fetch(settings, key, writeback.temporary_directory(settings))
    assert fetched is not None and fetched.size == len(FILES[key])
    # The old server announces more than it sends (a disk failing mid-file): nothing is uploaded,
    # no temporary file stays behind, and the key waits for a retry.
    failing = settings_for(settings.endpoint, settings.origin + "/short", Path(settings.state_directory))
    log(failing, f"200 404 : 200 /{key}")
    queue = Queue(queue_path(failing.state_directory))
    ingest(queue, failing.origin_log)
    directory = writeback.temporary_directory(failing)
    writeback.process_due(failing, queue, bucket.client(failing), directory)
    assert stored(settings, key) is None
    assert queue.pending_count() == 1
    assert not list(directory.iterdir()), "a partial download was left behind"


def test_a_file_already_copied_is_not_read_again(world: tuple[Settings, Path]) -> None:
    settings, origin_directory = world
    key = "media_attachments/files/110/000/002/original/b.mp4"
    s3 = bucket.client(settings)
    s3.put_object(Bucket=BUCKET, Key=key, Body=FILES[key])  # as the background copy would have
    log(settings, f"200 404 : 200 /{key}")
    writeback.run(settings, once=True)
    assert origin_gets(origin_directory, f"/{key}") == 0, "the file was read from the old disks again"
    assert Queue(queue_path(settings.state_directory)).totals()["present"] == 1


def test_the_log_is_followed_across_rotation_and_half_lines(world: tuple[Settings, Path]) -> None:
    settings, _ = world
    keys = list(FILES)
    queue = Queue(queue_path(settings.state_directory))
    log(settings, f"200 404 : 200 /{keys[0]}")
    with Path(settings.origin_log).open("a") as handle:
        handle.write(f"200 404 : 200 /{keys[1]}")  # nginx is half-way through this line
    assert ingest(queue, settings.origin_log) == 1
    with Path(settings.origin_log).open("a") as handle:
        handle.write("\n")
    Path(settings.origin_log).rename(settings.origin_log + ".1")  # logrotate
    log(settings, f"200 404 : 200 /{keys[2]}")
    assert ingest(queue, settings.origin_log) == 2
    assert queue.pending_count() == 3
    assert ingest(queue, settings.origin_log) == 0
