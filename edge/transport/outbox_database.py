"""The SQLite file behind the outbox: schema, pragmas, and errors that name the file.

SQLite runs in WAL mode with ``synchronous=FULL`` (appends are about one a minute per
camera and acknowledgements are batched, so an fsync per commit costs nothing that matters,
while ``NORMAL`` could roll back the last commits on a power cut, the failure an in-store
device actually sees) and ``locking_mode=EXCLUSIVE`` (a second process on the same file
fails at once instead of sharing sequence numbers).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from protocol.messages import CountInterval

ROW_OVERHEAD_BYTES = 64
"""Bytes counted against the quota per stored interval on top of its JSON payload
(SQLite row header, index entries)."""
_SCHEMA = """
CREATE TABLE IF NOT EXISTS cameras (
    camera_id TEXT PRIMARY KEY,
    next_sequence INTEGER NOT NULL,
    last_interval_end_utc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    position INTEGER PRIMARY KEY,
    camera_id TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    payload TEXT NOT NULL,
    stored_bytes INTEGER NOT NULL,
    sent INTEGER NOT NULL DEFAULT 0,
    acknowledged_at_seconds REAL
);
CREATE UNIQUE INDEX IF NOT EXISTS messages_by_sequence ON messages (camera_id, sequence);
CREATE INDEX IF NOT EXISTS unacknowledged_by_camera ON messages (camera_id, position)
    WHERE acknowledged_at_seconds IS NULL;
"""
ROW_COLUMNS = "position, camera_id, sequence, sent, payload"
"""The columns ``StoredRow.from_values`` reads, in its order."""


class OutboxError(RuntimeError):
    """The outbox cannot store or read intervals; the message names the outbox file."""


@dataclass(frozen=True)
class StoredRow:
    position: int
    camera_id: str
    sequence: int
    sent: bool
    payload: str

    @classmethod
    def from_values(cls, values: tuple[int, str, int, int, str]) -> StoredRow:
        """A row selected as ``ROW_COLUMNS``."""
        return cls(values[0], values[1], values[2], bool(values[3]), values[4])

    def message(self) -> CountInterval:
        return CountInterval.model_validate_json(self.payload)


def row_bytes(payload: str) -> int:
    """What a stored interval counts against the quota."""
    return len(payload.encode()) + ROW_OVERHEAD_BYTES


class OutboxDatabase:
    """One open outbox file. Not thread-safe by itself: ``Outbox`` holds its lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.connection = self._open()

    def _open(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise OutboxError(
                f"outbox {self.path}: cannot create its directory: {error.strerror or error}"
            ) from None
        with self.storage("open the database"):
            connection = sqlite3.connect(
                self.path, timeout=0, isolation_level=None, check_same_thread=False
            )
            try:
                connection.execute("PRAGMA locking_mode=EXCLUSIVE")
                connection.execute("PRAGMA auto_vacuum=INCREMENTAL")
                journal = connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                if journal != "wal":
                    raise OutboxError(f"outbox {self.path}: cannot use WAL mode (got {journal})")
                connection.execute("PRAGMA synchronous=FULL")
                connection.execute("PRAGMA journal_size_limit=4194304")
                connection.executescript(_SCHEMA)
                connection.execute("PRAGMA incremental_vacuum")
            except BaseException:
                connection.close()
                raise
        return connection

    @contextlib.contextmanager
    def storage(self, action: str) -> Iterator[None]:
        """Turns SQLite errors into ``OutboxError`` naming the file and the action."""
        try:
            yield
        except sqlite3.Error as error:
            detail = str(error)
            if "locked" in detail:
                detail += " (another process has this outbox open: one worker per outbox file)"
            raise OutboxError(f"outbox {self.path}: cannot {action}: {detail}") from None

    @contextlib.contextmanager
    def transaction(self, action: str) -> Iterator[sqlite3.Connection]:
        with self.storage(action):
            self.connection.execute("BEGIN IMMEDIATE")
            try:
                yield self.connection
                self.connection.execute("COMMIT")
            except BaseException:
                if self.connection.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        self.connection.execute("ROLLBACK")
                raise

    def close(self) -> None:
        self.connection.close()

    def camera_state(self, camera_id: str) -> tuple[int, datetime | None]:
        """The camera's next sequence number and the end of its last appended interval."""
        row = self.connection.execute(
            "SELECT next_sequence, last_interval_end_utc FROM cameras WHERE camera_id = ?",
            (camera_id,),
        ).fetchone()
        if row is None:
            return 0, None
        return int(row[0]), datetime.fromisoformat(row[1])

    def delete_acknowledged(self, condition: str, parameters: tuple[object, ...]) -> int:
        """Deletes matching rows inside the caller's transaction; returns their bytes."""
        deleted = self.connection.execute(
            f"DELETE FROM messages WHERE {condition} RETURNING stored_bytes", parameters
        ).fetchall()
        return sum(int(row[0]) for row in deleted)
