"""The stand-in's streaming server (tests/fixtures/standin/streaming), run with the machine's node.

Redis is faked here by a few lines of RESP over a socket: the test is about what the stand-in
sends and how it answers, not about Redis. The real Redis is used by the fleet tests.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "standin"
NODE = shutil.which("node") or shutil.which("nodejs")

pytestmark = pytest.mark.skipif(NODE is None, reason="needs node")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FakeRedis:
    """Answers AUTH (checking the credentials) and PING; records the commands it got."""

    def __init__(self, user: str | None, password: str) -> None:
        self.user, self.password = user, password
        self.commands: list[list[str]] = []
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._client, args=(conn,), daemon=True).start()

    def _client(self, conn: socket.socket) -> None:
        buffer = b""
        with conn:
            while True:
                data = conn.recv(4096)
                if not data:
                    return
                buffer += data
                while (command := self._parse(buffer)) is not None:
                    args, buffer = command
                    self.commands.append(args)
                    conn.sendall(self._reply(args))

    @staticmethod
    def _parse(buffer: bytes) -> tuple[list[str], bytes] | None:
        if not buffer.startswith(b"*") or b"\r\n" not in buffer:
            return None
        head, rest = buffer.split(b"\r\n", 1)
        args = []
        for _ in range(int(head[1:])):
            if b"\r\n" not in rest:
                return None
            size_line, rest = rest.split(b"\r\n", 1)
            size = int(size_line[1:])
            if len(rest) < size + 2:
                return None
            args.append(rest[:size].decode())
            rest = rest[size + 2 :]
        return args, rest

    def _reply(self, args: list[str]) -> bytes:
        if args[0].upper() == "AUTH":
            wanted = [self.user, self.password] if self.user else [self.password]
            return b"+OK\r\n" if args[1:] == wanted else b"-WRONGPASS invalid username-password pair\r\n"
        if args[0].upper() == "PING":
            return b"+PONG\r\n"
        return b"-ERR unknown command\r\n"

    def close(self) -> None:
        self.server.close()


def start_streaming(app: Path, port: int, extra_env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "NODE_ENV": "production",
        "PORT": str(port),
        "BIND": "127.0.0.1",
    }
    env.update(extra_env or {})
    process = subprocess.Popen(
        [str(NODE), "./streaming"], cwd=app, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            if process.poll() is not None:
                raise AssertionError(f"streaming exited: {process.stdout.read() if process.stdout else ''}") from None
            time.sleep(0.05)
    process.kill()
    raise AssertionError("streaming did not listen within 10 s")


def get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read().decode()


@pytest.fixture
def app(tmp_path: Path) -> Path:
    """A copy of the fixture's streaming part, as it sits in a release directory."""
    shutil.copytree(FIXTURE / "streaming", tmp_path / "streaming")
    shutil.copy(FIXTURE / "VERSION", tmp_path / "VERSION")
    return tmp_path


@pytest.fixture
def redis() -> Iterator[FakeRedis]:
    fake = FakeRedis(user="standin", password="p#ss word")
    yield fake
    fake.close()


@pytest.fixture
def streaming(app: Path, redis: FakeRedis) -> Iterator[str]:
    # Quoted value with a '#' and a space, a comment, an unknown key, and a PORT that must be ignored.
    (app / ".env.production").write_text(
        "# written by the deploy\n"
        "REDIS_HOST=127.0.0.1\n"
        f"REDIS_PORT={redis.port}  # the fake\n"
        "REDIS_USER=standin\n"
        "REDIS_PASSWORD='p#ss word'\n"
        "PORT=1\n"
        "SOMETHING_ELSE=ignored\n"
    )
    port = free_port()
    process = start_streaming(app, port)
    yield f"127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=5)


def test_health_authenticates_with_the_env_file_credentials(streaming: str, redis: FakeRedis) -> None:
    status, content_type, body = get(f"http://{streaming}/api/v1/streaming/health")
    assert (status, body) == (200, "OK")
    assert content_type.startswith("text/plain")
    assert ["AUTH", "standin", "p#ss word"] in redis.commands
    assert ["PING"] in redis.commands


def test_health_is_503_when_redis_refuses(app: Path) -> None:
    wrong = FakeRedis(user=None, password="right")
    (app / ".env.production").write_text(f"REDIS_HOST=127.0.0.1\nREDIS_PORT={wrong.port}\nREDIS_PASSWORD=right\n")
    port = free_port()
    # the process environment wins over .env.production
    process = start_streaming(app, port, {"REDIS_PASSWORD": "wrong"})
    try:
        status, _, body = get(f"http://127.0.0.1:{port}/api/v1/streaming/health")
        assert status == 503
        assert "WRONGPASS" in body
        assert ["AUTH", "wrong"] in wrong.commands
    finally:
        process.terminate()
        process.wait(timeout=5)
        wrong.close()


def test_health_is_503_when_redis_is_down(app: Path) -> None:
    (app / ".env.production").write_text(f"REDIS_HOST=127.0.0.1\nREDIS_PORT={free_port()}\n")
    port = free_port()
    process = start_streaming(app, port)
    try:
        status, _, body = get(f"http://127.0.0.1:{port}/api/v1/streaming/health")
        assert status == 503 and "Redis unreachable" in body
        _, _, metrics = get(f"http://127.0.0.1:{port}/metrics")
        assert "standin_streaming_redis_up 0" in metrics
    finally:
        process.terminate()
        process.wait(timeout=5)


def read_frame(sock: socket.socket) -> tuple[int, bytes]:
    head = sock.recv(2, socket.MSG_WAITALL)
    length = head[1] & 0x7F
    if length == 126:
        length = int.from_bytes(sock.recv(2, socket.MSG_WAITALL), "big")
    return head[0], sock.recv(length, socket.MSG_WAITALL) if length else b""


def masked_frame(opcode: int, payload: bytes) -> bytes:
    mask = os.urandom(4)
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def test_websocket_handshake_hello_frame_and_connected_clients(streaming: str) -> None:
    host, port = streaming.split(":")
    key = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455's example
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(
            (
                f"GET /api/v1/streaming?stream=public HTTP/1.1\r\nHost: {streaming}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                "Sec-WebSocket-Protocol: token123\r\n\r\n"
            ).encode()
        )
        response = b""
        while b"\r\n\r\n" not in response:
            response += sock.recv(1)
        lines = response.decode().split("\r\n")
        assert lines[0] == "HTTP/1.1 101 Switching Protocols"
        expected = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
        assert expected.decode() == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        assert f"Sec-WebSocket-Accept: {expected.decode()}" in lines
        assert "Sec-WebSocket-Protocol: token123" in lines

        first, payload = read_frame(sock)
        assert first == 0x81  # FIN + text
        hello = json.loads(payload)
        assert hello["host"] == socket.gethostname()
        assert hello["port"] == int(port)
        assert hello["version"] == "v1"

        _, _, metrics = get(f"http://{streaming}/metrics")
        assert 'mastodon_streaming_connected_clients{type="websocket"} 1' in metrics
        assert "standin_streaming_up 1" in metrics

        sock.sendall(masked_frame(0x9, b"hi"))
        assert read_frame(sock) == (0x8A, b"hi")  # pong echoes the ping
        sock.sendall(masked_frame(0x8, (1000).to_bytes(2, "big")))
        assert read_frame(sock)[0] == 0x88  # close answered

    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        _, _, metrics = get(f"http://{streaming}/metrics")
        if 'mastodon_streaming_connected_clients{type="websocket"} 0' in metrics:
            break
        time.sleep(0.05)
    else:
        raise AssertionError(f"client still counted after close:\n{metrics}")


def test_plain_get_on_the_stream_and_unknown_paths(streaming: str) -> None:
    assert get(f"http://{streaming}/api/v1/streaming")[0] == 400
    assert get(f"http://{streaming}/nope")[0] == 404
    status, content_type, _ = get(f"http://{streaming}/metrics")
    assert status == 200 and content_type.startswith("text/plain; version=0.0.4")
