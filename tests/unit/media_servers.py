"""Real servers on loopback for the media programs' unit tests: moto's S3 server and an old-origin
HTTP server (Python's own) over a directory. moto stands in for the object store (DigitalOcean
Spaces cannot be reached from here); the programs talk to both over real HTTP."""

from __future__ import annotations

import os
import socket
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
from moto.server import ThreadedMotoServer

from mastofleet.media.edge.settings import Settings

BUCKET = "media-test"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test-access", "AWS_SECRET_ACCESS_KEY": "test-secret"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def s3_server() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    # moto keeps its buckets in the process, not in the server: start every test from nothing.
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10).close()
    try:
        yield endpoint
    finally:
        server.stop()


class CountingHandler(SimpleHTTPRequestHandler):
    """Serves the origin directory and counts GETs per path (to see what was read from the disks)."""

    gets: dict[str, int] = {}

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        CountingHandler.gets[self.path] = CountingHandler.gets.get(self.path, 0) + 1
        if self.path.startswith("/short/"):
            self.send_short(self.path.removeprefix("/short"))
            return
        super().do_GET()

    def send_short(self, path: str) -> None:
        """Announce more bytes than are sent, as a disk failing in the middle of a file would."""
        body = (Path(self.directory) / path.lstrip("/")).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body) + 1000))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@contextmanager
def origin_server(directory: Path) -> Iterator[str]:
    CountingHandler.gets = {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(CountingHandler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def settings_for(endpoint: str, origin: str, state: Path, **extra: object) -> Settings:
    return Settings(
        endpoint=endpoint,
        region="us-east-1",
        bucket=BUCKET,
        origin=origin,
        origin_log=str(state / "origin.log"),
        state_directory=str(state),
        copy_log=str(state / "copy.log"),
        **extra,  # type: ignore[arg-type]
    )


def make_bucket(endpoint: str) -> None:
    for key, value in CREDENTIALS.items():
        os.environ[key] = value
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=BUCKET)
