"""The outbox quota at its exact boundary and its byte bookkeeping across drops and merges
(issue 17, found by ``make mutation``): an interval that brings the outbox to exactly its
quota is stored as it is, one byte less of quota merges the two oldest unsent intervals; the
bytes counted in memory always equal the stored rows' bytes, which a reopened outbox sums
from the file, and a merged row is counted once, not as its two halves. Real SQLite files."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.transport.interval_merge import covered_starts, merge_intervals
from edge.transport.outbox import MINIMUM_QUOTA_BYTES, Outbox, OutboxFullError
from edge.transport.outbox_database import row_bytes
from protocol.messages import CountInterval
from tests.edge.test_outbox import make_interval

INTERVALS = 12
"""Enough intervals of about 400 bytes each to pass the smallest quota (4 KiB)."""


def intervals(count: int = INTERVALS, camera_id: str = "door") -> list[CountInterval]:
    return [make_interval(index, entries=index + 1, camera_id=camera_id) for index in range(count)]


def bytes_of_rows(messages: list[CountInterval]) -> int:
    return sum(row_bytes(message.model_dump_json()) for message in messages)


def unmerged_bytes(tmp_path: Path, submitted: list[CountInterval]) -> int:
    """What ``submitted`` occupies as stored by an outbox with room to spare."""
    with Outbox(tmp_path / "measure.sqlite3", 1 << 20) as roomy:
        stored = [roomy.append(interval) for interval in submitted]
        assert roomy.stored_bytes == bytes_of_rows(stored)
        return roomy.stored_bytes


def assert_bookkeeping(outbox: Outbox) -> None:
    """Bytes and depth in memory equal the rows in the file, and a reopened outbox agrees."""
    pending = outbox.pending(limit=10_000)
    kept = outbox.recently_acknowledged("door") if outbox.keep_acknowledged_seconds else []
    assert outbox.stored_bytes == bytes_of_rows(pending) + bytes_of_rows(kept)
    assert outbox.depth() == len(pending) == outbox.depth("door")
    stored_bytes, depth = outbox.stored_bytes, outbox.depth()
    outbox.close()
    with Outbox(outbox.path, outbox.quota_bytes) as reopened:
        assert (reopened.stored_bytes, reopened.depth()) == (stored_bytes, depth)


def test_an_interval_that_reaches_the_quota_exactly_is_stored_unmerged(tmp_path: Path) -> None:
    submitted = intervals()
    quota_bytes = unmerged_bytes(tmp_path, submitted)
    assert quota_bytes >= MINIMUM_QUOTA_BYTES
    outbox = Outbox(tmp_path / "outbox.sqlite3", quota_bytes)
    for interval in submitted:
        outbox.append(interval)
    pending = outbox.pending()
    assert [message.sequence for message in pending] == list(range(INTERVALS))
    assert all(message.merged_starts_utc == [] for message in pending)
    assert outbox.stored_bytes == quota_bytes
    assert_bookkeeping(outbox)


def test_one_byte_less_of_quota_merges_the_two_oldest_and_counts_the_merged_row_once(
    tmp_path: Path,
) -> None:
    submitted = intervals()
    quota_bytes = unmerged_bytes(tmp_path, submitted) - 1
    outbox = Outbox(tmp_path / "outbox.sqlite3", quota_bytes)
    for interval in submitted:
        outbox.append(interval)
    pending = outbox.pending()
    # The merged interval takes the next sequence number (11) and the last append 12.
    merged = merge_intervals(submitted[0], submitted[1], sequence=INTERVALS - 1)
    assert merged is not None
    assert pending[0] == merged
    assert pending[0].lines["entrance"].entries == 1 + 2
    assert covered_starts(pending[0]) == [
        submitted[0].interval_start_utc,
        submitted[1].interval_start_utc,
    ]
    assert [message.sequence for message in pending[1:]] == [*range(2, INTERVALS - 1), INTERVALS]
    assert sum(message.lines["entrance"].entries for message in pending) == sum(range(1, 13))
    assert outbox.depth() == INTERVALS - 1
    assert outbox.stored_bytes <= quota_bytes
    assert outbox.stored_bytes == bytes_of_rows(pending)
    assert_bookkeeping(outbox)


def test_kept_acknowledged_intervals_make_room_before_anything_is_merged(tmp_path: Path) -> None:
    submitted = intervals(INTERVALS + 1)
    quota_bytes = unmerged_bytes(tmp_path, submitted[:INTERVALS])
    outbox = Outbox(
        tmp_path / "outbox.sqlite3", quota_bytes, keep_acknowledged_seconds=3600, clock=lambda: 5e3
    )
    for interval in submitted[:INTERVALS]:
        outbox.append(interval)
    assert outbox.acknowledge("door", [0, 1]) == 2
    assert outbox.stored_bytes == quota_bytes, "kept acknowledged intervals still count"
    outbox.append(submitted[INTERVALS])
    pending = outbox.pending()
    assert [message.sequence for message in pending] == list(range(2, INTERVALS + 1))
    assert all(message.merged_starts_utc == [] for message in pending)
    assert outbox.recently_acknowledged("door") == []
    assert outbox.depth() == INTERVALS - 1
    assert_bookkeeping(outbox)


def test_a_step_drops_at_most_64_kept_acknowledged_intervals(tmp_path: Path) -> None:
    submitted = intervals(101)
    quota_bytes = unmerged_bytes(tmp_path, submitted[:100])
    outbox = Outbox(
        tmp_path / "outbox.sqlite3", quota_bytes, keep_acknowledged_seconds=3600, clock=lambda: 5e3
    )
    for interval in submitted[:100]:
        outbox.append(interval)
    assert outbox.acknowledge("door", range(100)) == 100
    outbox.append(submitted[100])
    kept = outbox.recently_acknowledged("door")
    assert [message.sequence for message in kept] == list(range(64, 100))
    assert [message.sequence for message in outbox.pending()] == [100]
    assert_bookkeeping(outbox)


def test_a_merge_is_found_past_the_first_page_of_sent_intervals(tmp_path: Path) -> None:
    """The scan for a mergeable pair reads 256 rows at a time: here the first 257 were
    handed to the broker (never merged), so the pair is 257 and 258, on the second page."""
    submitted = intervals(301)
    quota_bytes = unmerged_bytes(tmp_path, submitted) - 1  # one merge makes room
    outbox = Outbox(tmp_path / "outbox.sqlite3", quota_bytes)
    for interval in submitted[:300]:
        outbox.append(interval)
    assert len(outbox.take("door", 257)) == 257
    outbox.append(submitted[300])
    pending = outbox.pending()
    assert [message.sequence for message in pending[255:259]] == [255, 256, 300, 259]
    assert covered_starts(pending[257]) == [
        submitted[257].interval_start_utc,
        submitted[258].interval_start_utc,
    ]
    assert pending[257].lines["entrance"].entries == 258 + 259
    assert sum(message.lines["entrance"].entries for message in pending) == sum(range(1, 302))
    assert outbox.depth() == 300
    assert_bookkeeping(outbox)


def test_cameras_sharing_an_outbox_merge_only_their_own_consecutive_intervals(
    tmp_path: Path,
) -> None:
    door, side = intervals(6, "door"), intervals(6, "side")
    interleaved = [interval for pair in zip(door, side, strict=True) for interval in pair]
    quota_bytes = unmerged_bytes(tmp_path, interleaved) - 1
    outbox = Outbox(tmp_path / "outbox.sqlite3", quota_bytes)
    for interval in interleaved:
        outbox.append(interval)
    door_pending, side_pending = outbox.pending("door"), outbox.pending("side")
    assert covered_starts(door_pending[0]) == [
        door[0].interval_start_utc,
        door[1].interval_start_utc,
    ]
    assert [message.sequence for message in door_pending] == [6, 2, 3, 4, 5]
    assert [message.sequence for message in side_pending] == [0, 1, 2, 3, 4, 5]
    assert sum(message.lines["entrance"].entries for message in door_pending) == 21
    assert sum(message.lines["entrance"].entries for message in side_pending) == 21
    assert outbox.depth() == 11
    assert outbox.stored_bytes == bytes_of_rows(door_pending) + bytes_of_rows(side_pending)
    outbox.close()


def test_a_full_outbox_refuses_the_interval_and_keeps_its_bookkeeping(tmp_path: Path) -> None:
    submitted = intervals()
    quota_bytes = unmerged_bytes(tmp_path, submitted[:-1]) + 1
    assert quota_bytes >= MINIMUM_QUOTA_BYTES
    outbox = Outbox(tmp_path / "outbox.sqlite3", quota_bytes)
    for interval in submitted[:-1]:
        outbox.append(interval)
        outbox.take("door", 100)  # handed to the broker: never merged
    stored_before = outbox.stored_bytes
    with pytest.raises(OutboxFullError, match="11 unacknowledged intervals"):
        outbox.append(submitted[-1])
    assert outbox.stored_bytes == stored_before
    assert outbox.next_sequence("door") == INTERVALS - 1
    assert_bookkeeping(outbox)
