"""The durable queue of count intervals between the pipeline and the MQTT broker.

Every interval is committed to SQLite *before* anything is published and leaves the queue
only after the broker's PUBACK, so a process kill or a power cut loses nothing that
``append`` returned. One file per device; it may hold several cameras. The per-camera next
sequence number and end of the last interval change in the same transaction as the append,
so both survive restarts and a sequence number is never reused.

The SQLite file is ``edge.transport.outbox_database``; making room under the quota (dropping kept
acknowledged intervals, merging unsent ones) is ``edge.transport.outbox_quota``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

from edge.config import OutboxConfig
from edge.transport.outbox_database import (
    ROW_COLUMNS,
    OutboxDatabase,
    OutboxError,
    StoredRow,
    row_bytes,
)
from edge.transport.outbox_quota import free_space
from edge.transport.sequences import numbered
from protocol.messages import CountInterval

__all__ = ["MINIMUM_QUOTA_BYTES", "Outbox", "OutboxError", "OutboxFullError"]

MINIMUM_QUOTA_BYTES = 4 * 1024


class OutboxFullError(OutboxError):
    """The quota is reached and no more intervals can be merged to make room."""


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
        self._database = OutboxDatabase(path)
        with self._database.storage("measure the queue"):
            stored, depth = self._database.connection.execute(
                "SELECT COALESCE(SUM(stored_bytes), 0),"
                " COALESCE(SUM(acknowledged_at_seconds IS NULL), 0) FROM messages"
            ).fetchone()
        self._stored_bytes: int = stored
        self._depth: int = depth

    @classmethod
    def from_config(cls, config: OutboxConfig) -> Outbox:
        return cls(config.path, config.quota_bytes, config.keep_acknowledged_seconds)

    def close(self) -> None:
        with self._lock:
            self._database.close()

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
        with self._lock, self._database.storage("count intervals"):
            (count,) = self._database.connection.execute(
                "SELECT COUNT(*) FROM messages"
                " WHERE camera_id = ? AND acknowledged_at_seconds IS NULL",
                (camera_id,),
            ).fetchone()
        return int(count)

    def next_sequence(self, camera_id: str) -> int:
        with self._lock, self._database.storage("read the sequence"):
            return self._database.camera_state(camera_id)[0]

    def last_interval_end(self, camera_id: str) -> datetime | None:
        """End (UTC) of the last interval ever appended for the camera, acknowledged or not;
        the interval accumulator starts after it so no interval start is ever reused."""
        with self._lock, self._database.storage("read the last interval end"):
            return self._database.camera_state(camera_id)[1]

    def append(self, interval: CountInterval) -> CountInterval:
        """Store ``interval`` durably under the camera's next sequence number (the
        ``sequence`` it carries is replaced) and return the stored message. Makes room under
        the quota by merging first; raises ``OutboxFullError`` when it cannot, ``ValueError``
        when the interval starts before the end of the camera's previous interval."""
        camera_id = interval.camera_id
        with self._lock:
            while True:
                with self._database.storage("read the camera state"):
                    sequence, last_end = self._database.camera_state(camera_id)
                message = numbered(interval, sequence, last_end)
                payload = message.model_dump_json()
                size = row_bytes(payload)
                if self._stored_bytes + size <= self.quota_bytes:
                    break
                freed = free_space(self._database)
                if freed is None:
                    raise OutboxFullError(
                        f"outbox {self.path}: quota of {self.quota_bytes} bytes reached with"
                        f" {self._depth} unacknowledged intervals and nothing left to merge;"
                        f" interval {camera_id} {interval.interval_start_utc} was not stored"
                    )
                self._stored_bytes -= freed.stored_bytes
                self._depth -= freed.unacknowledged
            end_text = message.interval_end_utc.isoformat()
            with self._database.transaction("store an interval") as connection:
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

    def _unacknowledged_rows(self, camera_id: str | None, limit: int) -> list[StoredRow]:
        where = "acknowledged_at_seconds IS NULL"
        parameters: tuple[object, ...] = (limit,)
        if camera_id is not None:
            where += " AND camera_id = ?"
            parameters = (camera_id, limit)
        rows = self._database.connection.execute(
            f"SELECT {ROW_COLUMNS} FROM messages WHERE {where} ORDER BY position LIMIT ?",
            parameters,
        ).fetchall()
        return [StoredRow.from_values(row) for row in rows]

    def pending(self, camera_id: str | None = None, limit: int = 1000) -> list[CountInterval]:
        """Unacknowledged intervals in delivery order, without changing anything."""
        with self._lock, self._database.storage("read pending intervals"):
            return [row.message() for row in self._unacknowledged_rows(camera_id, limit)]

    def take(self, camera_id: str, limit: int) -> list[CountInterval]:
        """Up to ``limit`` unacknowledged intervals of the camera that are not already in
        flight, in order; marks them in flight (in memory) and sent (durably: never merged
        from now on). The caller publishes them and later calls ``acknowledge`` or
        ``release``."""
        with self._lock:
            in_flight = self._in_flight.setdefault(camera_id, set())
            with self._database.storage("read pending intervals"):
                rows = self._unacknowledged_rows(camera_id, limit + len(in_flight))
            chosen = [row for row in rows if row.sequence not in in_flight][:limit]
            unsent = [(row.position,) for row in chosen if not row.sent]
            if unsent:
                with self._database.transaction("mark intervals sent") as connection:
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
            with self._database.transaction("requeue intervals") as connection:
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
            with self._database.transaction("acknowledge intervals") as connection:
                before = connection.total_changes
                if self.keep_acknowledged_seconds > 0:
                    connection.executemany(
                        "UPDATE messages SET acknowledged_at_seconds = ? WHERE camera_id = ?"
                        " AND sequence = ? AND acknowledged_at_seconds IS NULL",
                        [(now, camera_id, sequence) for sequence in chosen],
                    )
                    acknowledged = connection.total_changes - before
                    freed = self._database.delete_acknowledged(
                        "acknowledged_at_seconds < ?", (now - self.keep_acknowledged_seconds,)
                    )
                else:
                    for sequence in chosen:
                        freed += self._database.delete_acknowledged(
                            "camera_id = ? AND sequence = ? AND acknowledged_at_seconds IS NULL",
                            (camera_id, sequence),
                        )
                    acknowledged = connection.total_changes - before
            self._depth -= acknowledged
            self._stored_bytes -= freed
            return acknowledged

    def recently_acknowledged(self, camera_id: str) -> list[CountInterval]:
        """Acknowledged intervals still kept for re-sending, in delivery order."""
        with self._lock, self._database.storage("read acknowledged intervals"):
            rows = self._database.connection.execute(
                "SELECT payload FROM messages WHERE camera_id = ?"
                " AND acknowledged_at_seconds >= ? ORDER BY position",
                (camera_id, self._clock() - self.keep_acknowledged_seconds),
            ).fetchall()
        return [CountInterval.model_validate_json(row[0]) for row in rows]
