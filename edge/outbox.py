"""The durable queue of count intervals between the pipeline and the MQTT broker.

Every interval is committed to SQLite *before* anything is published and leaves the queue
only after the broker's PUBACK, so a process kill or a power cut loses nothing that
``append`` returned. One file per device; it may hold several cameras. The per-camera next
sequence number and end of the last interval change in the same transaction as the append,
so both survive restarts and a sequence number is never reused.

SQLite runs in WAL mode with ``synchronous=FULL`` (appends are about one a minute per
camera and acknowledgements are batched, so an fsync per commit costs nothing that matters,
while ``NORMAL`` could roll back the last commits on a power cut, the failure an in-store
device actually sees) and ``locking_mode=EXCLUSIVE`` (a second process on the same file
fails at once instead of sharing sequence numbers).

Quota: see ``Outbox.append`` and docs/transport.md. Merging never touches an interval that
was ever handed to the broker (an earlier delivery of it could land after the merged one
and overwrite it); a merged interval gets a new sequence number, so one sequence number
always names one payload, and keeps the queue position of its older half.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from edge.config import OutboxConfig
from edge.interval_merge import merge_intervals
from edge.messages import CountInterval

ROW_OVERHEAD_BYTES = 64
"""Bytes counted against the quota per stored interval on top of its JSON payload
(SQLite row header, index entries)."""
MINIMUM_QUOTA_BYTES = 4 * 1024
_SCAN_PAGE_ROWS = 256
_PRUNE_ROWS = 64
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


class OutboxError(RuntimeError):
    """The outbox cannot store or read intervals; the message names the outbox file."""


class OutboxFullError(OutboxError):
    """The quota is reached and no more intervals can be merged to make room."""


@dataclass(frozen=True)
class _Row:
    position: int
    camera_id: str
    sequence: int
    sent: bool
    payload: str

    def message(self) -> CountInterval:
        return CountInterval.model_validate_json(self.payload)


def _row_bytes(payload: str) -> int:
    return len(payload.encode()) + ROW_OVERHEAD_BYTES


class Outbox:
    """Durable per-device queue: ``append`` → ``take`` (hand to the broker) → ``acknowledge``.

    ``keep_acknowledged_seconds``: acknowledged intervals stay this long so the publisher can
    re-send them after a reconnect, covering a broker that crashed after its PUBACK but
    before forwarding (Mosquitto does not fsync per message). 0 deletes on acknowledgement.
    Thread-safe; one process per file.
    """

    def __init__(
        self,
        path: Path,
        quota_bytes: int,
        keep_acknowledged_seconds: float = 0.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if quota_bytes < MINIMUM_QUOTA_BYTES:
            raise ValueError(f"outbox quota_bytes {quota_bytes} is below {MINIMUM_QUOTA_BYTES}")
        if keep_acknowledged_seconds < 0:
            raise ValueError(
                f"outbox keep_acknowledged_seconds {keep_acknowledged_seconds} is negative"
            )
        self.path = path
        self.quota_bytes = quota_bytes
        self.keep_acknowledged_seconds = keep_acknowledged_seconds
        self._clock = clock
        self._lock = threading.RLock()
        self._in_flight: dict[str, set[int]] = {}
        self._connection = self._open()
        with self._storage("measure the queue"):
            stored, depth = self._connection.execute(
                "SELECT COALESCE(SUM(stored_bytes), 0),"
                " COALESCE(SUM(acknowledged_at_seconds IS NULL), 0) FROM messages"
            ).fetchone()
        self._stored_bytes: int = stored
        self._depth: int = depth

    @classmethod
    def from_config(cls, config: OutboxConfig) -> Outbox:
        return cls(config.path, config.quota_bytes, config.keep_acknowledged_seconds)

    def _open(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise OutboxError(
                f"outbox {self.path}: cannot create its directory: {error.strerror or error}"
            ) from None
        with self._storage("open the database"):
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
    def _storage(self, action: str) -> Iterator[None]:
        """Turns SQLite errors into ``OutboxError`` naming the file and the action."""
        try:
            yield
        except sqlite3.Error as error:
            detail = str(error)
            if "locked" in detail:
                detail += " (another process has this outbox open: one worker per outbox file)"
            raise OutboxError(f"outbox {self.path}: cannot {action}: {detail}") from None

    @contextlib.contextmanager
    def _transaction(self, action: str) -> Iterator[sqlite3.Connection]:
        with self._storage(action):
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield self._connection
                self._connection.execute("COMMIT")
            except BaseException:
                if self._connection.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        self._connection.execute("ROLLBACK")
                raise

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exception: object) -> None:
        self.close()

    @property
    def stored_bytes(self) -> int:
        """Bytes counted against the quota (unacknowledged plus kept acknowledged)."""
        return self._stored_bytes

    def depth(self, camera_id: str | None = None) -> int:
        """Intervals not yet acknowledged by the broker (one camera, or all)."""
        if camera_id is None:
            return self._depth
        with self._lock, self._storage("count intervals"):
            (count,) = self._connection.execute(
                "SELECT COUNT(*) FROM messages"
                " WHERE camera_id = ? AND acknowledged_at_seconds IS NULL",
                (camera_id,),
            ).fetchone()
        return int(count)

    def _camera_state(self, camera_id: str) -> tuple[int, datetime | None]:
        row = self._connection.execute(
            "SELECT next_sequence, last_interval_end_utc FROM cameras WHERE camera_id = ?",
            (camera_id,),
        ).fetchone()
        if row is None:
            return 0, None
        return int(row[0]), datetime.fromisoformat(row[1])

    def next_sequence(self, camera_id: str) -> int:
        with self._lock, self._storage("read the sequence"):
            return self._camera_state(camera_id)[0]

    def last_interval_end(self, camera_id: str) -> datetime | None:
        """End (UTC) of the last interval ever appended for the camera, acknowledged or not;
        the interval accumulator starts after it so no interval start is ever reused."""
        with self._lock, self._storage("read the last interval end"):
            return self._camera_state(camera_id)[1]

    def append(self, interval: CountInterval) -> CountInterval:
        """Store ``interval`` durably under the camera's next sequence number (the
        ``sequence`` it carries is replaced) and return the stored message. Makes room under
        the quota by merging first; raises ``OutboxFullError`` when it cannot, ``ValueError``
        when the interval starts before the end of the camera's previous interval."""
        camera_id = interval.camera_id
        with self._lock:
            with self._storage("read the camera state"):
                _, last_end = self._camera_state(camera_id)
            if last_end is not None and interval.interval_start_utc < last_end:
                raise ValueError(
                    f"camera {camera_id!r}: interval starting {interval.interval_start_utc}"
                    f" begins before the end of its previous interval {last_end}"
                )
            while True:
                with self._storage("read the camera state"):
                    sequence, _ = self._camera_state(camera_id)
                message = interval.model_copy(update={"sequence": sequence})
                payload = message.model_dump_json()
                size = _row_bytes(payload)
                if self._stored_bytes + size <= self.quota_bytes:
                    break
                if not self._free_space():
                    raise OutboxFullError(
                        f"outbox {self.path}: quota of {self.quota_bytes} bytes reached with"
                        f" {self._depth} unacknowledged intervals and nothing left to merge;"
                        f" interval {camera_id} {interval.interval_start_utc} was not stored"
                    )
            end_text = message.interval_end_utc.isoformat()
            with self._transaction("store an interval") as connection:
                connection.execute(
                    "INSERT INTO messages (camera_id, sequence, payload, stored_bytes)"
                    " VALUES (?, ?, ?, ?)",
                    (camera_id, sequence, payload, size),
                )
                connection.execute(
                    "INSERT INTO cameras VALUES (?, ?, ?) ON CONFLICT (camera_id) DO UPDATE"
                    " SET next_sequence = excluded.next_sequence,"
                    " last_interval_end_utc = excluded.last_interval_end_utc",
                    (camera_id, sequence + 1, end_text),
                )
            self._stored_bytes += size
            self._depth += 1
            return message

    def _unacknowledged_rows(self, camera_id: str | None, limit: int) -> list[_Row]:
        where = "acknowledged_at_seconds IS NULL"
        parameters: tuple[object, ...] = (limit,)
        if camera_id is not None:
            where += " AND camera_id = ?"
            parameters = (camera_id, limit)
        rows = self._connection.execute(
            "SELECT position, camera_id, sequence, sent, payload FROM messages"
            f" WHERE {where} ORDER BY position LIMIT ?",
            parameters,
        ).fetchall()
        return [_Row(row[0], row[1], row[2], bool(row[3]), row[4]) for row in rows]

    def pending(self, camera_id: str | None = None, limit: int = 1000) -> list[CountInterval]:
        """Unacknowledged intervals in delivery order, without changing anything."""
        with self._lock, self._storage("read pending intervals"):
            return [row.message() for row in self._unacknowledged_rows(camera_id, limit)]

    def take(self, camera_id: str, limit: int) -> list[CountInterval]:
        """Up to ``limit`` unacknowledged intervals of the camera that are not already in
        flight, in order; marks them in flight (in memory) and sent (durably: never merged
        from now on). The caller publishes them and later calls ``acknowledge`` or
        ``release``."""
        with self._lock:
            in_flight = self._in_flight.setdefault(camera_id, set())
            with self._storage("read pending intervals"):
                rows = self._unacknowledged_rows(camera_id, limit + len(in_flight))
            chosen = [row for row in rows if row.sequence not in in_flight][:limit]
            unsent = [(row.position,) for row in chosen if not row.sent]
            if unsent:
                with self._transaction("mark intervals sent") as connection:
                    connection.executemany(
                        "UPDATE messages SET sent = 1 WHERE position = ?", unsent
                    )
            in_flight.update(row.sequence for row in chosen)
            return [row.message() for row in chosen]

    def in_flight(self, camera_id: str) -> int:
        with self._lock:
            return len(self._in_flight.get(camera_id, ()))

    def release(self, camera_id: str, sequences: Iterable[int]) -> None:
        """Intervals whose publish failed (the broker refused them, or a new connection
        lost them): no longer in flight, so ``take`` returns them again."""
        with self._lock:
            self._in_flight.get(camera_id, set()).difference_update(sequences)

    def requeue(self, camera_id: str, sequences: Iterable[int]) -> int:
        """Kept acknowledged intervals whose re-send the broker did not deliver (PUBACK 0x10
        "no matching subscribers" after a restart that lost them and the shared
        subscriptions): unacknowledged again, so they are delivered like any other and
        survive a restart. Returns how many were still kept (expired ones are gone)."""
        with self._lock:
            with self._transaction("requeue intervals") as connection:
                before = connection.total_changes
                connection.executemany(
                    "UPDATE messages SET acknowledged_at_seconds = NULL WHERE camera_id = ?"
                    " AND sequence = ? AND acknowledged_at_seconds IS NOT NULL",
                    [(camera_id, sequence) for sequence in sequences],
                )
                requeued = connection.total_changes - before
            self._depth += requeued
            return requeued

    def acknowledge(self, camera_id: str, sequences: Iterable[int]) -> int:
        """The broker confirmed these intervals (PUBACK): remove them from the queue (or
        keep them ``keep_acknowledged_seconds`` for re-sending). Returns how many were
        still unacknowledged. Also drops kept intervals older than that window."""
        chosen = list(sequences)
        now = self._clock()
        with self._lock:
            self._in_flight.get(camera_id, set()).difference_update(chosen)
            freed = 0
            with self._transaction("acknowledge intervals") as connection:
                before = connection.total_changes
                if self.keep_acknowledged_seconds > 0:
                    connection.executemany(
                        "UPDATE messages SET acknowledged_at_seconds = ? WHERE camera_id = ?"
                        " AND sequence = ? AND acknowledged_at_seconds IS NULL",
                        [(now, camera_id, sequence) for sequence in chosen],
                    )
                    acknowledged = connection.total_changes - before
                    freed = self._delete_acknowledged(
                        "acknowledged_at_seconds < ?", (now - self.keep_acknowledged_seconds,)
                    )
                else:
                    for sequence in chosen:
                        freed += self._delete_acknowledged(
                            "camera_id = ? AND sequence = ? AND acknowledged_at_seconds IS NULL",
                            (camera_id, sequence),
                        )
                    acknowledged = connection.total_changes - before
            self._depth -= acknowledged
            self._stored_bytes -= freed
            return acknowledged

    def _delete_acknowledged(self, condition: str, parameters: tuple[object, ...]) -> int:
        """Deletes matching rows inside the caller's transaction; returns their bytes."""
        deleted = self._connection.execute(
            f"DELETE FROM messages WHERE {condition} RETURNING stored_bytes", parameters
        ).fetchall()
        return sum(int(row[0]) for row in deleted)

    def recently_acknowledged(self, camera_id: str) -> list[CountInterval]:
        """Acknowledged intervals still kept for re-sending, in delivery order."""
        with self._lock, self._storage("read acknowledged intervals"):
            rows = self._connection.execute(
                "SELECT payload FROM messages WHERE camera_id = ?"
                " AND acknowledged_at_seconds >= ? ORDER BY position",
                (camera_id, self._clock() - self.keep_acknowledged_seconds),
            ).fetchall()
        return [CountInterval.model_validate_json(row[0]) for row in rows]

    def _free_space(self) -> bool:
        """One step towards the quota: drop the oldest kept acknowledged intervals, else
        merge the oldest mergeable pair. False when neither is possible."""
        with self._transaction("drop acknowledged intervals"):
            freed = self._delete_acknowledged(
                "position IN (SELECT position FROM messages WHERE acknowledged_at_seconds"
                " IS NOT NULL ORDER BY position LIMIT ?)",
                (_PRUNE_ROWS,),
            )
        if freed:
            self._stored_bytes -= freed
            return True
        return self._merge_oldest_pair()

    def _merge_oldest_pair(self) -> bool:
        """Merges the first two consecutive unacknowledged, never-sent intervals of one
        camera (in queue order) that ``merge_intervals`` accepts."""
        previous_by_camera: dict[str, _Row] = {}
        after_position = -1
        while True:
            with self._storage("scan intervals to merge"):
                rows = self._connection.execute(
                    "SELECT position, camera_id, sequence, sent, payload FROM messages"
                    " WHERE acknowledged_at_seconds IS NULL AND position > ?"
                    " ORDER BY position LIMIT ?",
                    (after_position, _SCAN_PAGE_ROWS),
                ).fetchall()
            if not rows:
                return False
            for values in rows:
                row = _Row(values[0], values[1], values[2], bool(values[3]), values[4])
                previous = previous_by_camera.get(row.camera_id)
                previous_by_camera[row.camera_id] = row
                if previous is None or previous.sent or row.sent:
                    continue
                if self._merge_pair(previous, row):
                    return True
            after_position = rows[-1][0]

    def _merge_pair(self, first: _Row, second: _Row) -> bool:
        with self._storage("read the camera state"):
            sequence, _ = self._camera_state(first.camera_id)
        merged = merge_intervals(first.message(), second.message(), sequence)
        if merged is None:
            return False
        payload = merged.model_dump_json()
        size = _row_bytes(payload)
        with self._transaction("merge intervals") as connection:
            (freed,) = connection.execute(
                "SELECT SUM(stored_bytes) FROM messages WHERE position IN (?, ?)",
                (first.position, second.position),
            ).fetchone()
            connection.execute("DELETE FROM messages WHERE position = ?", (second.position,))
            connection.execute(
                "UPDATE messages SET sequence = ?, payload = ?, stored_bytes = ?"
                " WHERE position = ?",
                (sequence, payload, size, first.position),
            )
            connection.execute(
                "UPDATE cameras SET next_sequence = ? WHERE camera_id = ?",
                (sequence + 1, first.camera_id),
            )
        self._stored_bytes += size - int(freed)
        self._depth -= 1
        return True
