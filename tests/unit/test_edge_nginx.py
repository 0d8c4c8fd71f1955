"""The edge's rendered nginx configuration: accepted by `nginx -t`, and run for real on loopback in
front of moto's S3 server (standing in for the object store, which cannot be reached here) and a
Python HTTP server as the old origin. Needs nginx with the headers-more module (scripts/install)."""

from __future__ import annotations

import http.client
import os
import shutil
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from edge_nginx import HEADERS_MORE, RunningEdge, nginx_check, running_edge
from media_servers import BUCKET, CREDENTIALS, make_bucket, origin_server, s3_server

from mastofleet.deploys import edge
from mastofleet.model import Fleet, MediaMigration, Role
from mastofleet.plan.files import SecretValues

IMAGE = b"\x89PNG" + os.urandom(5000)
OLD_IMAGE = b"\x89PNG" + os.urandom(7000)


def tools() -> tuple[str, str]:
    found = [shutil.which(tool, path="/usr/sbin:/usr/bin:/sbin:/bin") for tool in ("nginx", "openssl")]
    if not all(found) or not HEADERS_MORE.exists():
        message = "nginx, openssl and libnginx-mod-http-headers-more-filter are needed (scripts/install)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return str(found[0]), str(found[1])


def fleet_with(hetzner_fleet: Fleet, endpoint: str, origin: str | None) -> Fleet:
    storage = hetzner_fleet.object_storage
    assert storage is not None
    update: dict[str, object] = {
        "object_storage": storage.model_copy(update={"endpoint": endpoint, "bucket": BUCKET, "region": "us-east-1"}),
        "media_migration": MediaMigration(origin=origin) if origin else None,
    }
    return hetzner_fleet.model_copy(update=update)


def test_nginx_accepts_the_edge_in_both_modes(hetzner_fleet: Fleet, tmp_path: Path) -> None:
    nginx_binary, openssl = tools()
    for name, origin in (("plain", None), ("migrating", "http://10.0.0.9:8080")):
        directory = tmp_path / name
        directory.mkdir()
        fleet = fleet_with(hetzner_fleet, "https://fra1.digitaloceanspaces.com", origin)
        result = nginx_check(fleet, directory, nginx_binary, openssl)
        assert result.returncode == 0, f"{name}: {result.stderr}"


def test_the_edge_follows_mastodons_object_storage_proxy_guidance(hetzner_fleet: Fleet) -> None:
    fleet = fleet_with(hetzner_fleet, "https://fra1.digitaloceanspaces.com", None)
    text = edge.files_for(fleet, fleet.with_role(Role.edge)[0], SecretValues())[1].content
    media = text[text.index("server_name media.hachyderm.example;") :]
    for directive in (
        "resolver 185.12.64.1 185.12.64.2",
        'set $bucket_url "https://media-test.fra1.digitaloceanspaces.com";',
        "proxy_pass $bucket_url$uri;",
        "proxy_cache_lock on;",
        "proxy_cache_use_stale error timeout updating",
        'proxy_set_header Authorization "";',
        "proxy_hide_header Set-Cookie;",
        'more_clear_headers "x-amz-*"',
        'add_header Access-Control-Allow-Origin "*"',
        "X-Cache-Status $upstream_cache_status",
        "immutable",
        "proxy_hide_header Access-Control-Allow-Origin;",
        "add_header Content-Security-Policy \"default-src 'none'; form-action 'none'\"",
        "location ~ /$ {",
    ):
        assert directive in media, f"the media host lacks `{directive}`"
    assert "@old_server" not in text, "the old server is asked outside migration mode"


@pytest.fixture
def edge_in_migration(hetzner_fleet: Fleet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningEdge]:
    nginx_binary, openssl = tools()
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    old = tmp_path / "old"
    (old / "media_attachments/files/1").mkdir(parents=True)
    (old / "media_attachments/files/1/old.png").write_bytes(OLD_IMAGE)
    directory = tmp_path / "edge"
    directory.mkdir()
    with s3_server() as endpoint, origin_server(old) as origin:
        make_bucket(endpoint)
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        s3.put_object(Bucket=BUCKET, Key="media_attachments/files/1/new.png", Body=IMAGE, ACL="public-read")
        fleet = fleet_with(hetzner_fleet, endpoint, origin)
        with running_edge(fleet, directory, nginx_binary, openssl) as running:
            yield running


def get(running: RunningEdge, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the certificate was made by the test
    request = urllib.request.Request(
        f"https://127.0.0.1:{running.port}{path}", method=method, headers={"Host": "media.hachyderm.example"}
    )
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def test_a_media_file_is_served_from_the_bucket_then_from_the_cache(edge_in_migration: RunningEdge) -> None:
    status, headers, body = get(edge_in_migration, "/media_attachments/files/1/new.png")
    assert (status, body) == (200, IMAGE)
    assert headers["x-cache-status"] == "MISS"
    assert headers["access-control-allow-origin"] == "*"
    assert "immutable" in headers["cache-control"]
    assert not [name for name in headers if name.startswith("x-amz")], f"x-amz headers leak: {headers}"
    status, headers, body = get(edge_in_migration, "/media_attachments/files/1/new.png")
    assert (status, headers["x-cache-status"], body) == (200, "HIT", IMAGE)


def test_a_file_only_the_old_server_has_is_served_and_logged_for_write_back(edge_in_migration: RunningEdge) -> None:
    status, headers, body = get(edge_in_migration, "/media_attachments/files/1/old.png")
    assert (status, body) == (200, OLD_IMAGE)
    # nginx writes the log line when it finalizes the request, a moment after the client has the body
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not edge_in_migration.origin_log.exists():
        time.sleep(0.05)
    while time.monotonic() < deadline and not edge_in_migration.origin_log.read_text():
        time.sleep(0.05)
    lines = edge_in_migration.origin_log.read_text().splitlines()
    assert len(lines) == 1 and lines[0].startswith("200 ") and lines[0].endswith(" /media_attachments/files/1/old.png")
    status, headers, _ = get(edge_in_migration, "/media_attachments/files/1/old.png")
    assert (status, headers["x-cache-status"]) == (200, "HIT")
    assert len(edge_in_migration.origin_log.read_text().splitlines()) == 1, "a cache hit was logged as the origin's"


def test_a_file_that_exists_nowhere_is_404_and_only_get_and_head_pass(edge_in_migration: RunningEdge) -> None:
    status, _, _ = get(edge_in_migration, "/media_attachments/files/9/nowhere.png")
    assert status == 404
    assert not edge_in_migration.origin_log.exists() or not edge_in_migration.origin_log.read_text()
    assert get(edge_in_migration, "/media_attachments/files/1/new.png", method="HEAD")[0] == 200
    assert get(edge_in_migration, "/media_attachments/files/1/new.png", method="DELETE")[0] == 405


def raw_get(running: RunningEdge, path: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """Every header line as sent (a duplicated header shows twice)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the certificate was made by the test
    connection = http.client.HTTPSConnection("127.0.0.1", running.port, timeout=10, context=context)
    try:
        connection.request("GET", path, headers={"Host": "media.hachyderm.example"})
        response = connection.getresponse()
        return response.status, [(k.lower(), v) for k, v in response.getheaders()], response.read()
    finally:
        connection.close()


def values(headers: list[tuple[str, str]], name: str) -> list[str]:
    return [value for key, value in headers if key == name]


def test_the_edge_alone_says_how_media_are_shared_and_cached(edge_in_migration: RunningEdge) -> None:
    """The old server sends its own CORS origin and no-store: the browser sees only the edge's."""
    for path in ("/media_attachments/files/1/new.png", "/media_attachments/files/1/old.png"):
        status, headers, _ = raw_get(edge_in_migration, path)
        assert status == 200, path
        assert values(headers, "access-control-allow-origin") == ["*"], path
        assert values(headers, "cache-control") == ["public, max-age=31536000, immutable"], path
        assert values(headers, "content-security-policy") == ["default-src 'none'; form-action 'none'"], path
        assert values(headers, "x-content-type-options") == ["nosniff"], path


def test_a_404_is_not_cached_for_a_year(edge_in_migration: RunningEdge) -> None:
    status, headers, _ = raw_get(edge_in_migration, "/media_attachments/files/9/nowhere.png")
    assert status == 404
    assert values(headers, "cache-control") == []
    assert values(headers, "access-control-allow-origin") == ["*"]


def test_no_listing_or_redirect_of_the_old_server_gets_out(edge_in_migration: RunningEdge) -> None:
    """The old server lists directories and redirects `/dir` to `/dir/` with its own address: the
    edge answers 404 for all of it, and no old file name or address leaks."""
    for path in ("/", "/media_attachments/", "/media_attachments/files/1/", "/media_attachments"):
        status, headers, body = raw_get(edge_in_migration, path)
        assert status == 404, f"{path}: {status} {body[:200]!r}"
        assert b"old.png" not in body and b"127.0.0.1" not in body, path
        assert values(headers, "location") == [], path
