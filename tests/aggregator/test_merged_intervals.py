"""A merged interval from the edge outbox, stored in a real InfluxDB after the smaller
intervals it replaces were already stored (their PUBACK was lost, so the edge merged and
re-sent them): the sums over the period are the merged interval's totals, not its totals
plus the stale per-minute points (issue 17). Both encoders: the ingest hot path
(:class:`IntervalEncoder`) and the generic one (:func:`interval_points`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from aggregator.storage.encoding import IntervalEncoder, PointEncoder
from aggregator.storage.influx import InfluxClient
from aggregator.storage.points import interval_points
from protocol.messages import CountInterval, LineCount

START = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
Encode = Callable[[CountInterval], list[str]]


def hot_path(message: CountInterval) -> list[str]:
    return IntervalEncoder().encode(message, {"door"})


def generic(message: CountInterval) -> list[str]:
    return PointEncoder().encode_all(interval_points(message, {"door"}))


def interval(first_minute: int, minutes: int, door: int, aisle: int, frames: int) -> CountInterval:
    """``minutes`` one-minute intervals from ``first_minute`` (merged when more than one);
    the door's exits are one per minute."""
    start = START + first_minute * MINUTE
    return CountInterval(
        store_id="s1",
        camera_id="entrance",
        sequence=first_minute,
        interval_start_utc=start,
        interval_end_utc=start + minutes * MINUTE,
        frames=frames,
        lines={
            "door": LineCount(entries=door, exits=minutes),
            "aisle": LineCount(entries=aisle, exits=0),
        },
        software_version="test",
        config_fingerprint="0123abcd",
        merged_starts_utc=[start + index * MINUTE for index in range(minutes)]
        if minutes > 1
        else [],
    )


def write(influx: InfluxClient, lines: list[str]) -> None:
    influx.write_body(("\n".join(lines) + "\n").encode())


def sums(influx: InfluxClient, query: str) -> tuple[int, ...]:
    series = influx.query(query)
    assert series, query
    return tuple(int(value) for value in series[0].values[0][1:])


@pytest.mark.parametrize("encode", [hot_path, generic], ids=["IntervalEncoder", "interval_points"])
def test_merged_interval_overwrites_the_minutes_it_replaces(
    influx: InfluxClient, encode: Encode
) -> None:
    minutes = [
        interval(0, 1, door=3, aisle=10, frames=600),
        interval(1, 1, door=5, aisle=20, frames=600),
        interval(2, 1, door=4, aisle=30, frames=600),
    ]
    for message in minutes:
        write(influx, encode(message))
    assert sums(influx, "SELECT sum(entries), sum(exits) FROM line_counts") == (72, 3)
    merged = interval(0, 3, door=12, aisle=60, frames=1800)
    for _ in range(2):  # delivered, then redelivered: it overwrites itself
        write(influx, encode(merged))
        assert sums(influx, "SELECT sum(entries), sum(exits) FROM line_counts") == (72, 3)
        assert sums(
            influx, "SELECT sum(entries), sum(exits) FROM line_counts WHERE entrance = 'true'"
        ) == (12, 3)
        assert sums(influx, "SELECT sum(frames) FROM camera_intervals") == (1800,)
        assert sums(influx, "SELECT count(entries) FROM line_counts WHERE entries > 0") == (2,)
