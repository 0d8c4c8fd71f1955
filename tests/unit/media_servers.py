"""Real servers on loopback for the media programs' unit tests: moto's S3 server and an old-origin
HTTP server (Python's own) over a directory. moto stands in for the object store (DigitalOcean
Spaces cannot be reached from here); the programs talk to both over real HTTP.

Both run as child processes: pyinfra's CLI (imported by other unit tests) monkey-patches threads
with gevent, under which servers in threads of the test process would block.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3

BUCKET = "media-test"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test-access", "AWS_SECRET_ACCESS_KEY": "test-secret"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server on port {port} exited with {process.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {seconds} s")


@contextmanager
def child(command: list[str], port: int) -> Iterator[None]:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, process)
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def s3_server() -> Iterator[str]:
    port = free_port()
    with child([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], port):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def origin_server(directory: Path) -> Iterator[str]:
    """The old server: `directory` over HTTP; each GET's path is appended to `directory`.gets."""
    port = free_port()
    gets_log(directory).write_text("")
    with child([sys.executable, __file__, str(directory), str(port)], port):
        yield f"http://127.0.0.1:{port}"


def gets_log(directory: Path) -> Path:
    return directory.with_name(directory.name + ".gets")


def origin_gets(directory: Path, path: str) -> int:
    """How often the old server was asked for `path` (what was read from its disks)."""
    return gets_log(directory).read_text().splitlines().count(path)


class OriginHandler(SimpleHTTPRequestHandler):
    """Serves the origin directory (with listings, as nginx's autoindex would), records GETs, sends its
    own CORS and caching headers, and under /short/ lies about the length."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        with gets_log(Path(self.directory)).open("a") as log:
            log.write(self.path + "\n")
        if self.path.startswith("/short/"):
            self.send_short(self.path.removeprefix("/short"))
            return
        super().do_GET()

    def end_headers(self) -> None:
        # An old server with its own ideas about sharing and caching: the edge must not pass them on.
        self.send_header("Access-Control-Allow-Origin", "https://old.example")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

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


def settings_for(endpoint: str, origin: str, state: Path, **extra: object):  # type: ignore[no-untyped-def]
    from mastofleet.agents.media_edge.settings import Settings

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


if __name__ == "__main__":
    served, listen_port = Path(sys.argv[1]), int(sys.argv[2])
    ThreadingHTTPServer(("127.0.0.1", listen_port), partial(OriginHandler, directory=str(served))).serve_forever()
