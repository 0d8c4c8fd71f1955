"""`media_edge.report`, what `mastofleet media status|verify` print, against real servers on loopback:
rclone lists an old server (Python's HTTP server over a directory, with listings as nginx's autoindex)
and moto's S3 server stands in for the bucket (the real store cannot be reached here). The
migration is complete only when every file of the old server is in the bucket with its bytes."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from media_servers import CREDENTIALS, make_bucket, origin_server, s3_server, settings_for

from mastofleet.agents.media_edge import bucket
from mastofleet.agents.media_edge.report import compare
from mastofleet.agents.media_edge.settings import Settings

FILES = {
    "media_attachments/files/110/000/001/original/a.png": os.urandom(2000),
    "media_attachments/files/110/000/002/original/b.mp4": os.urandom(300_000),
    "accounts/avatars/000/000/001/original/c.jpg": os.urandom(10),
}


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Settings, Path]]:
    if not shutil.which("rclone"):
        if os.environ.get("CI"):
            pytest.fail("rclone is needed (scripts/install)")
        pytest.skip("rclone is needed (scripts/install)")
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    origin_directory = tmp_path / "origin"
    origin_directory.mkdir()
    with s3_server() as endpoint, origin_server(origin_directory) as origin:
        make_bucket(endpoint)
        yield settings_for(endpoint, origin, tmp_path / "state"), origin_directory


def put_origin(directory: Path, files: dict[str, bytes]) -> None:
    for key, content in files.items():
        path = directory / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def test_an_old_server_that_lists_nothing_is_not_a_finished_migration(world: tuple[Settings, Path]) -> None:
    settings, _ = world
    result = compare(settings, bucket.client(settings), checksums=True)
    assert (result.origin_objects, result.missing, result.different) == (0, [], [])
    assert not result.complete


def test_complete_only_when_every_file_is_there_with_its_bytes(world: tuple[Settings, Path]) -> None:
    settings, origin = world
    put_origin(origin, FILES)
    s3 = bucket.client(settings)
    a, b, c = FILES
    s3.put_object(Bucket=settings.bucket, Key=a, Body=FILES[a])
    s3.put_object(Bucket=settings.bucket, Key=b, Body=bytes(len(FILES[b])))  # same size, other bytes
    s3.put_object(Bucket=settings.bucket, Key="media_attachments/new-since.png", Body=b"new")  # not the old server's

    status = compare(settings, s3, checksums=False)
    assert (status.origin_objects, status.done_objects, status.missing) == (3, 2, [c])
    assert not status.complete, "status compares sizes only, and one file is missing anyway"

    verify = compare(settings, s3, checksums=True)
    assert (verify.missing, verify.different, verify.done_objects) == ([c], [b], 1)
    assert not verify.complete

    s3.put_object(Bucket=settings.bucket, Key=c, Body=FILES[c])
    # b again, in parts: the ETag is no MD5 then, and without md5chksum the object itself is read
    upload = s3.create_multipart_upload(Bucket=settings.bucket, Key=b)
    part = s3.upload_part(Bucket=settings.bucket, Key=b, UploadId=upload["UploadId"], PartNumber=1, Body=FILES[b])
    s3.complete_multipart_upload(
        Bucket=settings.bucket,
        Key=b,
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]},
    )
    assert "-" in s3.head_object(Bucket=settings.bucket, Key=b)["ETag"]
    verify = compare(settings, s3, checksums=True)
    assert (verify.missing, verify.different, verify.checksummed) == ([], [], 3)
    assert verify.complete and verify.done_bytes == sum(len(content) for content in FILES.values())
