"""The durable outbox: sequence numbers, ordering, acknowledgement, the quota and its
merges, and the errors for an unusable file. Real SQLite files in tmp_path."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.transport.interval_merge import covered_starts, merge_intervals
from edge.transport.outbox import Outbox, OutboxError, OutboxFullError
from edge.transport.outbox_database import ROW_OVERHEAD_BYTES
from protocol.messages import CountInterval, LineCount, ZoneOccupancy

EPOCH = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def make_interval(
    index: int,
    entries: int = 1,
    exits: int = 0,
    *,
    camera_id: str = "door",
    store_id: str = "store-1",
    frames: int = 10,
    zone_mean: float = 0.5,
    zone_max: int = 1,
    interval_seconds: float = 60.0,
    fingerprint: str = "0123abcd",
) -> CountInterval:
    """Interval number ``index`` of a camera: ``[EPOCH + index * interval, + interval)``."""
    start = EPOCH + timedelta(seconds=index * interval_seconds)
    return CountInterval(
        store_id=store_id,
        camera_id=camera_id,
        sequence=0,
        interval_start_utc=start,
        interval_end_utc=start + timedelta(seconds=interval_seconds),
        frames=frames,
        lines={"entrance": LineCount(entries=entries, exits=exits)},
        zones={"queue": ZoneOccupancy(mean=zone_mean, max=zone_max)},
        software_version="0.1.0",
        config_fingerprint=fingerprint,
    )


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    return Outbox(tmp_path / "outbox.sqlite3", quota_bytes=1 << 20)


def test_sequences_and_last_end_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    with Outbox(path, 1 << 20) as first:
        stored = [first.append(make_interval(index)) for index in range(3)]
        first.append(make_interval(0, camera_id="aisle"))
    assert [message.sequence for message in stored] == [0, 1, 2]
    with Outbox(path, 1 << 20) as reopened:
        assert reopened.next_sequence("door") == 3
        assert reopened.next_sequence("aisle") == 1
        assert reopened.last_interval_end("door") == EPOCH + timedelta(minutes=3)
        assert reopened.last_interval_end("unknown") is None
        assert reopened.depth() == 4
        assert [message.sequence for message in reopened.pending("door")] == [0, 1, 2]
        assert reopened.append(make_interval(3)).sequence == 3


def test_acknowledged_sequences_are_never_reused(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    with Outbox(path, 1 << 20) as first:
        for index in range(5):
            first.append(make_interval(index))
        first.acknowledge("door", [0, 1, 2, 3, 4])
        assert first.depth() == 0
        assert first.stored_bytes == 0
    with Outbox(path, 1 << 20) as reopened:
        assert reopened.append(make_interval(5)).sequence == 5


def test_interval_starting_before_the_previous_end_is_rejected(outbox: Outbox) -> None:
    outbox.append(make_interval(4))
    with pytest.raises(ValueError, match=r"camera 'door'.*begins before the end"):
        outbox.append(make_interval(3))
    assert outbox.depth() == 1


def test_take_hands_out_each_interval_once_until_released(outbox: Outbox) -> None:
    for index in range(5):
        outbox.append(make_interval(index))
    assert [message.sequence for message in outbox.take("door", 2)] == [0, 1]
    assert [message.sequence for message in outbox.take("door", 2)] == [2, 3]
    assert outbox.in_flight("door") == 4
    outbox.release("door", [1])
    assert [message.sequence for message in outbox.take("door", 10)] == [1, 4]
    assert outbox.take("door", 10) == []
    assert outbox.acknowledge("door", [0, 2, 3]) == 3
    assert outbox.acknowledge("door", [0]) == 0
    assert [message.sequence for message in outbox.pending()] == [1, 4]
    assert outbox.depth("door") == 2


def test_kept_acknowledged_intervals_expire(tmp_path: Path) -> None:
    now = [1_000.0]
    outbox = Outbox(
        tmp_path / "o.sqlite3", 1 << 20, keep_acknowledged_seconds=60, clock=lambda: now[0]
    )
    for index in range(3):
        outbox.append(make_interval(index))
    outbox.acknowledge("door", [0, 1])
    assert outbox.depth() == 1
    assert [message.sequence for message in outbox.recently_acknowledged("door")] == [0, 1]
    bytes_with_kept = outbox.stored_bytes
    now[0] += 61
    assert outbox.recently_acknowledged("door") == []
    outbox.acknowledge("door", [2])
    assert outbox.depth() == 0
    assert [message.sequence for message in outbox.recently_acknowledged("door")] == [2]
    assert outbox.stored_bytes < bytes_with_kept


def test_requeue_puts_kept_acknowledged_intervals_back_in_order(tmp_path: Path) -> None:
    now = [1_000.0]
    outbox = Outbox(
        tmp_path / "o.sqlite3", 1 << 20, keep_acknowledged_seconds=60, clock=lambda: now[0]
    )
    for index in range(4):
        outbox.append(make_interval(index, entries=index))
    assert outbox.acknowledge("door", [0, 1, 2]) == 3
    # 3 is not acknowledged, 9 does not exist: neither changes anything.
    assert outbox.requeue("door", [2, 0, 3, 9]) == 2
    assert outbox.depth() == 3
    assert [message.sequence for message in outbox.take("door", 10)] == [0, 2, 3]
    assert [message.sequence for message in outbox.recently_acknowledged("door")] == [1]
    now[0] += 61
    assert outbox.requeue("door", [1]) == 1  # kept until the next acknowledgement prunes it
    assert outbox.acknowledge("door", [0, 1, 2, 3]) == 4
    now[0] += 61
    outbox.append(make_interval(4))
    outbox.acknowledge("door", [4])
    assert outbox.requeue("door", [0, 1, 2, 3]) == 0  # expired and deleted
    assert outbox.depth() == 0


def test_merge_sums_counts_and_weights_zone_means_by_frames() -> None:
    first = make_interval(0, entries=3, exits=1, frames=10, zone_mean=2.0, zone_max=4)
    second = make_interval(1, entries=5, exits=2, frames=30, zone_mean=1.0, zone_max=3)
    merged = merge_intervals(first, second, sequence=7)
    assert merged is not None
    assert merged.sequence == 7
    assert merged.lines["entrance"] == LineCount(entries=8, exits=3)
    assert merged.frames == 40
    assert merged.zones["queue"].mean == pytest.approx((2.0 * 10 + 1.0 * 30) / 40)
    assert merged.zones["queue"].max == 4
    assert merged.interval_start_utc == first.interval_start_utc
    assert merged.interval_end_utc == second.interval_end_utc
    assert merged.merged_starts_utc == [first.interval_start_utc, second.interval_start_utc]
    again = merge_intervals(merged, make_interval(2, entries=1), sequence=8)
    assert again is not None
    assert covered_starts(again) == [EPOCH + timedelta(minutes=minute) for minute in range(3)]


@pytest.mark.parametrize(
    ("second", "reason"),
    [
        (make_interval(1, fingerprint="ffff0000"), "other counting config"),
        (make_interval(1, camera_id="aisle"), "other camera"),
        (make_interval(0, interval_seconds=30), "overlapping"),
        (make_interval(1, entries=1_000_000), "count above the schema limit"),
        (make_interval(7 * 24 * 60), "longer than 7 days"),
    ],
)
def test_intervals_that_must_not_merge(second: CountInterval, reason: str) -> None:
    assert merge_intervals(make_interval(0, entries=1), second, sequence=1) is None, reason


interval_counts = st.lists(
    st.tuples(st.integers(0, 50), st.integers(0, 50), st.integers(0, 30)),
    min_size=1,
    max_size=120,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(counts=interval_counts, quota_bytes=st.integers(4096, 16384), sent_before=st.integers(0, 5))
def test_quota_merges_keep_totals_exact_and_bytes_bounded(
    tmp_path_factory: pytest.TempPathFactory,
    counts: list[tuple[int, int, int]],
    quota_bytes: int,
    sent_before: int,
) -> None:
    outbox = Outbox(tmp_path_factory.mktemp("quota") / "o.sqlite3", quota_bytes)
    submitted: list[CountInterval] = []
    sent: list[CountInterval] = []
    for index, (entries, exits, frames) in enumerate(counts):
        zone_max = entries % 5
        submitted.append(
            outbox.append(
                make_interval(
                    index, entries, exits, frames=frames, zone_mean=zone_max / 2, zone_max=zone_max
                )
            )
        )
        if index == sent_before:
            sent = outbox.take("door", sent_before)  # in flight: must never be merged
        assert outbox.stored_bytes <= quota_bytes
    pending = outbox.pending(limit=10_000)
    assert sum(m.lines["entrance"].entries for m in pending) == sum(c[0] for c in counts)
    assert sum(m.lines["entrance"].exits for m in pending) == sum(c[1] for c in counts)
    assert sum(m.frames for m in pending) == sum(c[2] for c in counts)
    zone_frame_sum = sum(m.zones["queue"].mean * m.frames for m in pending)
    assert zone_frame_sum == pytest.approx(sum(s.zones["queue"].mean * s.frames for s in submitted))
    starts = Counter(start for message in pending for start in covered_starts(message))
    assert starts == Counter(message.interval_start_utc for message in submitted)
    assert [m.interval_start_utc for m in pending] == sorted(m.interval_start_utc for m in pending)
    sequences = [message.sequence for message in pending]
    assert len(set(sequences)) == len(sequences)
    assert all(message in pending for message in sent)
    smallest_row_bytes = min(len(m.model_dump_json()) for m in submitted) + ROW_OVERHEAD_BYTES
    assert len(pending) <= quota_bytes // smallest_row_bytes
    outbox.close()


def test_quota_full_with_nothing_mergeable_raises_and_keeps_everything(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite3", quota_bytes=4096)
    failure: OutboxFullError | None = None
    for index in range(100):
        try:
            outbox.append(make_interval(index, entries=index))
        except OutboxFullError as error:
            failure = error
            break
        outbox.take("door", 100)  # everything sent: nothing may be merged
    assert failure is not None
    assert f"outbox {tmp_path / 'o.sqlite3'}: quota of 4096 bytes reached" in str(failure)
    assert outbox.depth() == index
    assert [m.lines["entrance"].entries for m in outbox.pending()] == list(range(index))


def test_second_process_on_the_same_file_is_refused(outbox: Outbox) -> None:
    script = (
        "from pathlib import Path; from edge.transport.outbox import Outbox; "
        f"Outbox(Path({str(outbox.path)!r}), 1 << 20)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert f"outbox {outbox.path}" in result.stderr
    assert "another process" in result.stderr


def test_unusable_path_names_the_file(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    with pytest.raises(OutboxError, match=f"outbox {blocker / 'outbox.sqlite3'}: cannot create"):
        Outbox(blocker / "outbox.sqlite3", 1 << 20)


def test_full_disk_raises_an_error_naming_the_outbox(tmp_path: Path) -> None:
    """RLIMIT_FSIZE makes every write past 256 KiB fail as on a full disk (works as root)."""
    path = tmp_path / "outbox.sqlite3"
    script = textwrap.dedent(
        f"""
        import resource, signal
        from pathlib import Path
        from edge.transport.outbox import Outbox, OutboxError
        from tests.edge.test_outbox import make_interval
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        outbox = Outbox(Path({str(path)!r}), 1 << 30)
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, resource.RLIM_INFINITY))
        stored = 0
        try:
            for index in range(100_000):
                outbox.append(make_interval(index, entries=1))
                stored += 1
        except OutboxError as error:
            print(stored, error)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    stored_text, message = result.stdout.split(" ", 1)
    assert f"outbox {path}: cannot store an interval" in message
    with Outbox(path, 1 << 30) as reopened:
        assert reopened.depth() == int(stored_text)  # every append that returned is kept
