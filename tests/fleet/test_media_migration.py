"""The live media evacuation on the local fleet, end to end, with nothing lost.

Real parts: nginx on the edge host esme (migration mode, deployed by the real deploy.py from
tests/fleet/inventories/media_migration.py), the write-back service and rclone there, an old server
(alice, nginx over a media directory of 1,100 generated files of mixed sizes) and an S3 server on
outsider. The S3 server is moto in server mode (Debian's python3-moto): it stands in for
DigitalOcean Spaces, which cannot be reached from here. Tests run in file order and share state.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mastofleet.agents.media_edge import bucket
from mastofleet.local.machines import MACHINES, state_directory
from support.deploy_run import PROJECT, DeployResult, run_deploy
from support.media_fleet import (
    MediaFile,
    edge_get,
    media_files,
    reset_migration,
    s3_client,
    ssh,
    start_object_store,
    start_old_server,
    wait_for,
)

pytestmark = [pytest.mark.fleet, pytest.mark.changes_fleet]

INVENTORY = "tests/fleet/inventories/media_migration.py"
BUCKET = "hachyderm-media"
RECORD = state_directory() / "media-migration.json"
FILES = media_files()
BY_KEY = {item.key: item for item in FILES}
# What users ask for first: every 8th small or medium file (the large ones are left for the kill test).
REQUESTED = [item for item in FILES[::8] if item.size < 2_000_000]
LARGE = [item for item in FILES if item.size >= 4_000_000]


def mastofleet(*arguments: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).with_name("mastofleet")), *arguments]
    return subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, timeout=3600, check=False)


@pytest.fixture(scope="module")
def migrating(first_deploy: DeployResult) -> Iterator[None]:
    start_object_store()
    start_old_server(FILES, [MACHINES["esme"].address])
    RECORD.unlink(missing_ok=True)
    result = run_deploy(INVENTORY)
    assert result.returncode == 0 and not result.failed, f"deploy failed: {result.failed}\n{result.output}"
    reset_migration(BUCKET)
    yield  # the fleet is restored from the snapshot afterwards (changes_fleet)


def stored_md5(key: str) -> str | None:
    """The object's MD5 as the store keeps it (ETag, or rclone's md5chksum for a multipart upload)."""
    try:
        head = s3_client().head_object(Bucket=BUCKET, Key=key)
    except Exception:  # noqa: BLE001 - absent
        return None
    return bucket.stored_md5(head) or "unknown"


def body_md5(item: MediaFile) -> str:
    status, _, body = edge_get("/" + item.key)
    assert status == 200, f"{item.key}: {status}"
    return hashlib.md5(body).hexdigest()  # noqa: S324


def test_what_users_request_is_served_and_written_back(migrating: None) -> None:
    assert len(FILES) >= 1000 and len(REQUESTED) >= 100
    for item in REQUESTED:
        assert body_md5(item) == item.md5, f"{item.key}: the edge served other bytes"
    assert wait_for(lambda: all(stored_md5(item.key) for item in REQUESTED), 300, 2), "not all written back"
    wrong = [item.key for item in REQUESTED if stored_md5(item.key) != item.md5]
    assert not wrong, f"written back with the wrong checksum: {wrong[:5]}"
    status = mastofleet("media", "status", INVENTORY)
    assert status.returncode == 0, status.stderr
    print(f"\n{status.stdout}")
    assert f"write-back: {len(REQUESTED)} uploaded" in status.stdout


def test_the_second_request_is_a_cache_hit(migrating: None) -> None:
    path = "/" + REQUESTED[0].key
    edge_get(path)
    status, headers, _ = edge_get(path)
    assert (status, headers.get("x-cache-status")) == (200, "HIT")
    assert headers.get("access-control-allow-origin") == "*"
    assert not [name for name in headers if name.startswith("x-amz")]


def test_a_file_that_exists_nowhere_is_404(migrating: None) -> None:
    status, _, _ = edge_get("/media_attachments/files/999/999/999/original/nowhere.png")
    assert status == 404
    # nor is the old server's directory index (alice has autoindex on for rclone) served to the world
    for path in ("/", "/media_attachments/files/110/"):
        status, _, body = edge_get(path)
        assert status == 404 and b"media_attachments" not in body and b".png" not in body, f"{path}: {status}"


def test_killing_the_write_back_mid_upload_loses_nothing(migrating: None) -> None:
    """A large file is fetched through the edge; while the write-back uploads it (4 MB/s), the
    service is killed with SIGKILL: no object exists (no partial upload), and after its restart
    the whole file is in the bucket with the right checksum."""
    item = LARGE[0]
    assert body_md5(item) == item.md5
    uploading = wait_for(
        lambda: f"uploading {item.key}" in ssh("esme", "journalctl -u mastofleet-media-writeback -n 50 --no-pager"),
        60,
        0.2,
    )
    assert uploading, "the write-back never started the upload"
    time.sleep(0.5)
    ssh("esme", "systemctl kill --signal=KILL mastofleet-media-writeback.service")
    assert stored_md5(item.key) is None, "a killed upload left an object behind"
    ssh("esme", "systemctl restart mastofleet-media-writeback.service")
    assert wait_for(lambda: stored_md5(item.key) is not None, 120, 1), "the upload was not redone after the restart"
    assert stored_md5(item.key) == item.md5
    assert ssh("esme", "ls -A /var/lib/mastofleet-media/incoming").strip() == "", "a partial download stayed"


def test_the_background_copy_brings_every_file(migrating: None) -> None:
    started = time.monotonic()
    ssh("esme", "systemctl start mastofleet-media-copy.service", timeout=1800)
    print(f"\nbackground copy: {time.monotonic() - started:.1f} s")
    wrong = [item.key for item in FILES if stored_md5(item.key) != item.md5]
    assert not wrong, f"{len(wrong)} files missing or different after the copy, e.g. {wrong[:3]}"
    status = mastofleet("media", "status", INVENTORY)
    assert status.returncode == 0, status.stderr
    print(status.stdout)
    assert f"objects: {len(FILES)} of {len(FILES)} in the bucket" in status.stdout


def test_verify_finds_what_is_missing_or_different_and_then_nothing(migrating: None) -> None:
    s3 = s3_client()
    missing, different = FILES[3], FILES[5]
    s3.delete_object(Bucket=BUCKET, Key=missing.key)
    s3.put_object(Bucket=BUCKET, Key=different.key, Body=bytes(different.size))  # same size, other bytes
    report = mastofleet("media", "verify", INVENTORY)
    assert report.returncode == 1, report.stdout
    assert f"  - {missing.key}" in report.stdout and f"  * {different.key}" in report.stdout
    assert "missing: 1" in report.stdout and "different: 1" in report.stdout
    assert mastofleet("media", "finish", INVENTORY).returncode == 1, "finish accepted an incomplete migration"
    for item in (missing, different):
        s3.put_object(Bucket=BUCKET, Key=item.key, Body=item.content())
    report = mastofleet("media", "verify", INVENTORY)
    print(f"\n{report.stdout}")
    assert report.returncode == 0, report.stdout
    assert "missing: 0" in report.stdout and "different: 0" in report.stdout
    assert f"checksums compared: {len(FILES)}" in report.stdout


def test_finish_turns_migration_mode_off(migrating: None) -> None:
    try:
        result = mastofleet("media", "finish", INVENTORY)
        assert result.returncode == 0, result.stdout + result.stderr
        assert RECORD.exists()
        units = ssh("esme", "ls /etc/systemd/system/ | grep mastofleet-media || true")
        assert units.strip() == "", f"migration units left on the edge: {units}"
        assert "@old_server" not in ssh("esme", "cat /etc/nginx/conf.d/mastofleet-edge.conf")
        item = FILES[7]
        assert body_md5(item) == item.md5, "a migrated file is not served from the bucket"
        assert mastofleet("check", INVENTORY).returncode == 0
    finally:
        RECORD.unlink(missing_ok=True)
