"""Making room under the outbox's disk quota (see ``Outbox.append`` and docs/transport.md).

One step at a time: first drop the oldest acknowledged intervals kept for re-sending, else
merge the oldest mergeable pair of unacknowledged intervals. Merging never touches an
interval that was ever handed to the broker (an earlier delivery of it could land after the
merged one and overwrite it); a merged interval gets a new sequence number, so one sequence
number always names one payload, and keeps the queue position of its older half.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.transport.interval_merge import merge_intervals
from edge.transport.outbox_database import ROW_COLUMNS, OutboxDatabase, StoredRow, row_bytes

_SCAN_PAGE_ROWS = 256
_PRUNE_ROWS = 64


@dataclass(frozen=True)
class FreedSpace:
    stored_bytes: int
    """Bytes no longer counted against the quota."""
    unacknowledged: int
    """Unacknowledged intervals fewer than before (a merge turns two into one)."""


def free_space(database: OutboxDatabase) -> FreedSpace | None:
    """One step towards the quota; None when there is nothing left to drop or merge."""
    with database.transaction("drop acknowledged intervals"):
        freed = database.delete_acknowledged(
            "position IN (SELECT position FROM messages WHERE acknowledged_at_seconds"
            " IS NOT NULL ORDER BY position LIMIT ?)",
            (_PRUNE_ROWS,),
        )
    if freed:
        return FreedSpace(stored_bytes=freed, unacknowledged=0)
    return _merge_oldest_pair(database)


def _merge_oldest_pair(database: OutboxDatabase) -> FreedSpace | None:
    """Merges the first two consecutive unacknowledged, never-sent intervals of one camera
    (in queue order) that ``merge_intervals`` accepts."""
    previous_by_camera: dict[str, StoredRow] = {}
    after_position = -1
    while True:
        with database.storage("scan intervals to merge"):
            rows = database.connection.execute(
                f"SELECT {ROW_COLUMNS} FROM messages"
                " WHERE acknowledged_at_seconds IS NULL AND position > ?"
                " ORDER BY position LIMIT ?",
                (after_position, _SCAN_PAGE_ROWS),
            ).fetchall()
        if not rows:
            return None
        for values in rows:
            row = StoredRow.from_values(values)
            previous = previous_by_camera.get(row.camera_id)
            previous_by_camera[row.camera_id] = row
            if previous is None or previous.sent or row.sent:
                continue
            freed = _merge_pair(database, previous, row)
            if freed is not None:
                return freed
        after_position = rows[-1][0]


def _merge_pair(database: OutboxDatabase, first: StoredRow, second: StoredRow) -> FreedSpace | None:
    with database.storage("read the camera state"):
        sequence, _ = database.camera_state(first.camera_id)
    merged = merge_intervals(first.message(), second.message(), sequence)
    if merged is None:
        return None
    payload = merged.model_dump_json()
    size = row_bytes(payload)
    with database.transaction("merge intervals") as connection:
        (freed,) = connection.execute(
            "SELECT SUM(stored_bytes) FROM messages WHERE position IN (?, ?)",
            (first.position, second.position),
        ).fetchone()
        connection.execute("DELETE FROM messages WHERE position = ?", (second.position,))
        connection.execute(
            "UPDATE messages SET sequence = ?, payload = ?, stored_bytes = ? WHERE position = ?",
            (sequence, payload, size, first.position),
        )
        connection.execute(
            "UPDATE cameras SET next_sequence = ? WHERE camera_id = ?",
            (sequence + 1, first.camera_id),
        )
    return FreedSpace(stored_bytes=int(freed) - size, unacknowledged=1)
