"""A client that runs ON a fleet host (python3 -c), to try Postgres/PgBouncer and Redis logins from there.

Standard library only: hosts that are not app hosts (the edge host, an outside machine) have no psql
or redis-cli, and a login attempt must come from their own address. A password, when one is tried,
is read from stdin (never a command-line argument, never printed). The result is one JSON line:

    postgres HOST PORT USER DATABASE  -> {"tcp": "open"|"refused"|"timeout"|..., "stage": ...,
                                          "logged_in": bool, "sqlstate": ..., "message": ...}
    redis HOST PORT [USER]            -> {"tcp": ..., "unauthenticated": "<reply to PING>",
                                          "authenticated": "<reply to AUTH [USER], then PING>" or null}
    redis-commands HOST PORT USER COMMAND...
                                      -> {"tcp": ..., "auth": "<reply>", "replies": {COMMAND: "<first reply line>"},
                                          "bodies": {COMMAND: "<a bulk reply's text>"}}
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import socket
import struct
import sys

TIMEOUT = 5.0


def read_password() -> str:
    return sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else ""


def connect(host: str, port: int) -> tuple[socket.socket | None, str]:
    # "timeout": nothing answered (a firewall dropped it); "refused": the host answered, nobody listens.
    try:
        return socket.create_connection((host, port), timeout=TIMEOUT), "open"
    except ConnectionRefusedError:
        return None, "refused"
    except TimeoutError:
        return None, "timeout"
    except OSError as error:
        return None, f"error: {error.strerror or error}"


def receive_exactly(connection: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the server closed the connection")
        data += chunk
    return data


def pg_message(connection: socket.socket) -> tuple[bytes, bytes]:
    kind = receive_exactly(connection, 1)
    (length,) = struct.unpack("!I", receive_exactly(connection, 4))
    return kind, receive_exactly(connection, length - 4)


def pg_error(body: bytes) -> dict[str, str]:
    fields = {}
    for field in body.split(b"\0"):
        if field:
            fields[chr(field[0])] = field[1:].decode(errors="replace")
    return {"sqlstate": fields.get("C", ""), "message": fields.get("M", "")}


def pg_send(connection: socket.socket, kind: bytes, body: bytes) -> None:
    connection.sendall(kind + struct.pack("!I", len(body) + 4) + body)


def postgres(host: str, port: int, user: str, database: str, password: str) -> dict:
    connection, tcp = connect(host, port)
    result: dict = {"tcp": tcp, "stage": "connect", "logged_in": False, "sqlstate": "", "message": ""}
    if connection is None:
        return result
    with connection:
        parameters = b"".join(f"{k}\0{v}\0".encode() for k, v in (("user", user), ("database", database)))
        body = struct.pack("!I", 196608) + parameters + b"\0"
        connection.sendall(struct.pack("!I", len(body) + 4) + body)
        result["stage"] = "startup"
        nonce = base64.b64encode(os.urandom(18)).decode()
        client_first_bare = f"n=,r={nonce}"
        expected_signature = b""
        try:
            while True:
                kind, payload = pg_message(connection)
                if kind == b"E":
                    result.update(pg_error(payload))
                    return result
                if kind == b"Z":
                    result["logged_in"] = True
                    return result
                if kind != b"R":
                    continue
                (code,) = struct.unpack("!I", payload[:4])
                if code == 0:
                    result["stage"] = "authenticated"
                elif code == 10:  # SASL: the server asks for a password
                    result["stage"] = "password"
                    if not password:
                        return result
                    mechanism = b"SCRAM-SHA-256\0"
                    first = f"n,,{client_first_bare}".encode()
                    pg_send(connection, b"p", mechanism + struct.pack("!I", len(first)) + first)
                elif code == 11:  # SASL continue: server-first-message
                    server_first = payload[4:].decode()
                    attributes = dict(item.split("=", 1) for item in server_first.split(","))
                    salted = hashlib.pbkdf2_hmac(
                        "sha256", password.encode(), base64.b64decode(attributes["s"]), int(attributes["i"])
                    )
                    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
                    stored_key = hashlib.sha256(client_key).digest()
                    without_proof = f"c=biws,r={attributes['r']}"
                    auth_message = f"{client_first_bare},{server_first},{without_proof}".encode()
                    signature = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
                    proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
                    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
                    expected_signature = hmac.new(server_key, auth_message, hashlib.sha256).digest()
                    final = f"{without_proof},p={base64.b64encode(proof).decode()}"
                    pg_send(connection, b"p", final.encode())
                elif code == 12:  # SASL final: the server proves it knew the verifier
                    verifier = dict(item.split("=", 1) for item in payload[4:].decode().split(","))
                    if base64.b64decode(verifier.get("v", "")) != expected_signature:
                        result["message"] = "the server's SCRAM signature is wrong"
                        return result
                else:
                    result["message"] = f"unsupported authentication request {code}"
                    return result
        except (ConnectionError, TimeoutError, OSError) as error:
            result["message"] = f"connection lost: {error}"
            return result


def redis_reply(connection: socket.socket) -> str:
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = connection.recv(1)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace").strip()


def redis_command(connection: socket.socket, *words: str) -> str:
    encoded = [word.encode() for word in words]
    request = b"*%d\r\n" % len(encoded) + b"".join(b"$%d\r\n%s\r\n" % (len(word), word) for word in encoded)
    connection.sendall(request)
    return redis_reply(connection)


def redis(host: str, port: int, password: str, user: str = "") -> dict:
    connection, tcp = connect(host, port)
    result: dict = {"tcp": tcp, "unauthenticated": None, "authenticated": None}
    if connection is None:
        return result
    with connection:
        try:
            result["unauthenticated"] = redis_command(connection, "PING")
            if password:
                auth = redis_command(connection, "AUTH", *([user] if user else []), password)
                result["authenticated"] = auth if not auth.startswith("+") else redis_command(connection, "PING")
        except (ConnectionError, TimeoutError, OSError) as error:
            result["error"] = str(error)
    return result


def redis_commands(host: str, port: int, user: str, password: str, commands: list[str]) -> dict:
    connection, tcp = connect(host, port)
    result: dict = {"tcp": tcp, "auth": None, "replies": {}, "bodies": {}}
    if connection is None:
        return result
    with connection:
        result["auth"] = redis_command(connection, "AUTH", user, password)
        for command in commands:
            reply = redis_command(connection, *command.split())
            if reply.startswith("$") and int(reply[1:]) >= 0:  # a bulk string: its body follows
                body = receive_exactly(connection, int(reply[1:]) + 2)
                result["bodies"][command] = body.decode(errors="replace")
            result["replies"][command] = reply
    return result


def main(arguments: list[str]) -> None:
    password = read_password()
    if arguments[0] == "postgres":
        host, port, user, database = arguments[1:5]
        result = postgres(host, int(port), user, database, password)
    elif arguments[0] == "redis":
        host, port = arguments[1:3]
        result = redis(host, int(port), password, arguments[3] if len(arguments) > 3 else "")
    elif arguments[0] == "redis-commands":
        host, port, user = arguments[1:4]
        result = redis_commands(host, int(port), user, password, arguments[4:])
    else:
        raise SystemExit(f"unknown probe {arguments[0]}")
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
