"""Read nginx's log of answers from the old server: one `STATUS UPSTREAM_STATUSES URI` line per request.

Only whole lines count (nginx may be half-way through writing one), and logrotate's rename is
followed: when the log's inode changed, the rest of the old file (now `.1`) is read first.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import unquote

from .queue import Queue, inode_of


@dataclass(frozen=True)
class Chunk:
    keys: list[str]
    inode: int
    offset: int


def key_of(line: str) -> str | None:
    """The object key of a log line when the old server answered it with 200, else None."""
    parts = line.split()
    if len(parts) < 3 or parts[0] != "200":
        return None
    # $upstream_status lists every upstream of the request: the bucket's 403/404, then the old server's.
    if parts[-2].rstrip(",") != "200":
        return None
    key = unquote(parts[-1]).lstrip("/")
    if not key or ".." in key.split("/"):
        return None
    return key


def read_from(path: str, offset: int) -> tuple[list[str], int]:
    """Keys in the whole lines after `offset`, and the offset after the last whole line."""
    with open(path, "rb") as log:
        log.seek(offset)
        data = log.read()
    end = data.rfind(b"\n")
    if end < 0:
        return [], offset
    keys = []
    for raw in data[: end + 1].splitlines():
        key = key_of(raw.decode("utf-8", errors="replace"))
        if key is not None:
            keys.append(key)
    return keys, offset + end + 1


def ingest(queue: Queue, path: str) -> int:
    """Move what the log gained since the last call into the queue; returns the number of keys read."""
    inode, offset = queue.position()
    current = inode_of(path)
    if current is None:
        return 0
    count = 0
    if inode and current != inode:
        rotated = f"{path}.1"
        if inode_of(rotated) == inode:
            keys, _ = read_from(rotated, offset)
            queue.add(keys, current, 0)
            count += len(keys)
        else:
            queue.add([], current, 0)
        offset = 0
    elif os.path.getsize(path) < offset:  # truncated in place
        offset = 0
    keys, new_offset = read_from(path, offset)
    if keys or new_offset != offset or inode != current:
        queue.add(keys, current, new_offset)
    return count + len(keys)
