"""Edges of interval accumulation that decide an interval's counts and width (found by
``make mutation``, issue 17): a quiet interval reports zeros for every line and zone, frames
may share a timestamp, and an interval flushed at its own start is 1 ms long, never empty."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from edge.counting.intervals import IntervalAccumulator, IntervalTotals, to_message
from protocol.messages import CountInterval

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC).timestamp()


def message(totals: IntervalTotals) -> CountInterval:
    """The wire message of ``totals`` (store ``shop``, camera ``door``)."""
    return to_message(
        totals,
        store_id="shop",
        camera_id="door",
        sequence=1,
        software_version="test",
        config_fingerprint="0123abcd",
    )


def message_of(
    accumulator: IntervalAccumulator, end_seconds: float | None = None
) -> dict[str, object]:
    (totals,) = accumulator.flush(end_seconds)
    return message(totals).model_dump(mode="json")


def test_a_quiet_interval_reports_zeros_for_every_line_and_zone() -> None:
    accumulator = IntervalAccumulator(60, ["door", "side"], ["till"])
    for step in range(10):
        assert accumulator.add_frame(T0 + step, [], {"till": 0}) == []
    message = message_of(accumulator)
    assert message["lines"] == {
        "door": {"entries": 0, "exits": 0},
        "side": {"entries": 0, "exits": 0},
    }
    assert message["zones"] == {"till": {"mean": 0.0, "max": 0}}
    assert message["frames"] == 10


def test_frames_may_share_a_timestamp() -> None:
    accumulator = IntervalAccumulator(60, ["door"], [])
    accumulator.add_frame(T0 + 5, [], {})
    accumulator.add_frame(T0 + 5, [], {})
    assert message_of(accumulator)["frames"] == 2


def test_an_interval_flushed_at_its_start_lasts_one_millisecond() -> None:
    accumulator = IntervalAccumulator(60, ["door"], [])
    accumulator.add_frame(T0, [], {})
    message = message_of(accumulator, end_seconds=T0)
    start = datetime.fromisoformat(str(message["interval_start_utc"]))
    end = datetime.fromisoformat(str(message["interval_end_utc"]))
    assert end - start == timedelta(milliseconds=1)


def test_an_interval_flushed_early_ends_there() -> None:
    accumulator = IntervalAccumulator(60, ["door"], [])
    accumulator.add_frame(T0 + 1, [], {})
    message = message_of(accumulator, end_seconds=T0 + 42.5)
    end = datetime.fromisoformat(str(message["interval_end_utc"]))
    assert end.timestamp() == T0 + 42.5
