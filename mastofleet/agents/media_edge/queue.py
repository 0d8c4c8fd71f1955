"""The write-back's durable to-do list: keys the old server served, and how far its log was read.

SQLite in the state directory. A key leaves the list only after its object is in the bucket and
verified, and the log position moves in the same transaction that adds the keys it covers: a kill
at any moment loses nothing and, at worst, repeats one upload of identical bytes.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS pending (
  key TEXT PRIMARY KEY,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_try REAL NOT NULL DEFAULT 0,
  last_error TEXT
);
CREATE TABLE IF NOT EXISTS position (id INTEGER PRIMARY KEY CHECK (id = 1), inode INTEGER, offset INTEGER);
CREATE TABLE IF NOT EXISTS totals (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

MAX_BACKOFF_SECONDS = 300.0


@dataclass(frozen=True)
class Due:
    key: str
    attempts: int


class Queue:
    """Pending keys with retry times, the origin log's read position, and running totals."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.connection = sqlite3.connect(path, timeout=30, isolation_level=None)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("PRAGMA synchronous=FULL")
        self.connection.executescript(SCHEMA)

    def close(self) -> None:
        self.connection.close()

    def position(self) -> tuple[int, int]:
        row = self.connection.execute("SELECT inode, offset FROM position WHERE id = 1").fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    def add(self, keys: list[str], inode: int, offset: int) -> None:
        """Add keys and move the log position, atomically."""
        with self.connection:
            self.connection.execute("BEGIN IMMEDIATE")
            self.connection.executemany("INSERT OR IGNORE INTO pending (key) VALUES (?)", [(key,) for key in keys])
            self.connection.execute(
                "INSERT INTO position (id, inode, offset) VALUES (1, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET inode = excluded.inode, offset = excluded.offset",
                (inode, offset),
            )

    def due(self, limit: int = 50, now: float | None = None) -> list[Due]:
        rows = self.connection.execute(
            "SELECT key, attempts FROM pending WHERE next_try <= ? ORDER BY next_try, key LIMIT ?",
            (time.time() if now is None else now, limit),
        ).fetchall()
        return [Due(str(key), int(attempts)) for key, attempts in rows]

    def done(self, key: str, outcome: str, size: int) -> None:
        with self.connection:
            self.connection.execute("BEGIN IMMEDIATE")
            self.connection.execute("DELETE FROM pending WHERE key = ?", (key,))
            self._count(outcome, 1)
            self._count(f"{outcome}_bytes", size)

    def failed(self, key: str, attempts: int, error: str) -> float:
        """Put the key back for later, with exponential backoff; returns the delay."""
        delay = min(MAX_BACKOFF_SECONDS, 2.0 ** min(attempts, 16))
        with self.connection:
            self.connection.execute("BEGIN IMMEDIATE")
            self.connection.execute(
                "UPDATE pending SET attempts = ?, next_try = ?, last_error = ? WHERE key = ?",
                (attempts + 1, time.time() + delay, error[:500], key),
            )
            self._count("failures", 1)
        return delay

    def _count(self, name: str, amount: int) -> None:
        self.connection.execute(
            "INSERT INTO totals (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + ?",
            (name, amount, amount),
        )

    def pending_count(self) -> int:
        return int(self.connection.execute("SELECT count(*) FROM pending").fetchone()[0])

    def totals(self) -> dict[str, int]:
        return {str(name): int(value) for name, value in self.connection.execute("SELECT name, value FROM totals")}


def queue_path(state_directory: str) -> Path:
    return Path(state_directory) / "writeback.sqlite"


def inode_of(path: str) -> int | None:
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return None
