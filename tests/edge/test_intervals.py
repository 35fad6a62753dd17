"""Interval accumulation: alignment, totals, zone statistics, restarts and the wire message."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from edge.counting.counters import Crossing, Direction
from edge.counting.intervals import IntervalAccumulator, to_message

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC).timestamp()


def entry(line: str = "door") -> Crossing:
    return Crossing(line, 1, Direction.ENTRY)


def exit_(line: str = "door") -> Crossing:
    return Crossing(line, 1, Direction.EXIT)


def test_intervals_align_and_total() -> None:
    accumulator = IntervalAccumulator(60, ["door", "side"], ["till"])
    finished = []
    # frames every 0.5 s from 09:00:30 to 09:02:29.5
    for step in range(240):
        timestamp = T0 + 30 + step * 0.5
        crossings = [entry()] if step % 40 == 0 else []
        if step % 60 == 0:
            crossings.append(exit_("side"))
        finished += accumulator.add_frame(timestamp, crossings, {"till": step % 4})
    finished += accumulator.flush()
    starts = [interval.start_utc.strftime("%H:%M:%S") for interval in finished]
    assert starts == ["09:00:00", "09:01:00", "09:02:00"]
    assert [interval.frames for interval in finished] == [60, 120, 60]
    assert [interval.entries["door"] for interval in finished] == [2, 3, 1]
    assert [interval.exits["side"] for interval in finished] == [1, 2, 1]
    assert sum(interval.entries["side"] for interval in finished) == 0
    assert [interval.zone_maxima["till"] for interval in finished] == [3, 3, 3]
    assert finished[1].zone_mean("till") == pytest.approx(1.5)


def test_restart_never_reuses_an_interval_start() -> None:
    first = IntervalAccumulator(60, ["door"], [])
    first.add_frame(T0 + 5, [entry()], {})
    (partial,) = first.flush(end_seconds=T0 + 20)
    assert partial.end_utc == datetime(2026, 3, 2, 9, 0, 20, tzinfo=UTC)
    second = IntervalAccumulator(60, ["door"], [], not_before_utc=partial.end_utc)
    second.add_frame(T0 + 25, [entry()], {})
    (resumed,) = second.flush()
    assert resumed.start_utc == partial.end_utc
    assert resumed.end_utc == datetime(2026, 3, 2, 9, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="before the end"):
        IntervalAccumulator(60, [], [], not_before_utc=partial.end_utc).add_frame(T0 + 10, [], {})


def test_time_going_backwards_is_rejected() -> None:
    accumulator = IntervalAccumulator(60, [], [])
    accumulator.add_frame(T0 + 10, [], {})
    with pytest.raises(ValueError, match="before the previous frame"):
        accumulator.add_frame(T0 + 9, [], {})


def test_gap_in_frames_leaves_no_empty_intervals() -> None:
    accumulator = IntervalAccumulator(60, ["door"], [])
    finished = accumulator.add_frame(T0 + 1, [entry()], {})
    finished += accumulator.add_frame(T0 + 600, [], {})
    finished += accumulator.flush()
    assert [interval.start_utc.minute for interval in finished] == [0, 10]


def test_wire_message_carries_counts_only() -> None:
    accumulator = IntervalAccumulator(60, ["door"], ["till"])
    accumulator.add_frame(T0 + 1, [entry(), entry(), exit_()], {"till": 2})
    accumulator.add_frame(T0 + 2, [], {"till": 1})
    (totals,) = accumulator.flush()
    message = to_message(
        totals,
        store_id="s 1",
        camera_id="cam,1",
        sequence=4,
        software_version="0.1.0",
        config_fingerprint="abcdef0123456789",
    )
    payload = message.model_dump(mode="json")
    assert payload["lines"] == {"door": {"entries": 2, "exits": 1}}
    assert payload["zones"] == {"till": {"mean": 1.5, "max": 2}}
    assert payload["interval_start_utc"] == "2026-03-02T09:00:00Z"
    assert payload["frames"] == 2
    assert "track" not in message.model_dump_json()
