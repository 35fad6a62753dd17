"""Edges of interval accumulation found by ``make mutation`` (issue 17), pinned on the
accumulator directly: the people scale reaching the zones' mean and max, the mean rounded to
4 decimals, an interval without frames or a zone never seen reading as zero, a declared zone
reported as zeros when no frame mentions it, lines and zones not declared up front counted from
zero (roles internal and counting), held crossings and open stays added at shutdown
(``add_late``) by direction and zone, nothing added when no interval is open, a frame exactly at
the restart bound accepted, a flushed accumulator flushing nothing more, intervals shorter than
a second, and the construction errors naming the bad setting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from edge.counting.counters import Crossing, Direction
from edge.counting.intervals import IntervalAccumulator, IntervalTotals
from protocol.messages import (
    DwellCounts,
    LineCount,
    LineRole,
    ZoneOccupancy,
    ZoneRole,
)
from tests.edge.test_interval_edges import message

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC).timestamp()


def entry(line: str = "door") -> Crossing:
    return Crossing(line, 1, Direction.ENTRY)


def exit_(line: str = "door") -> Crossing:
    return Crossing(line, 1, Direction.EXIT)


def version_2(line_ids: list[str], zone_ids: list[str]) -> IntervalAccumulator:
    """Door an entrance, till an exclusion zone (neither is a default role)."""
    return IntervalAccumulator(
        60,
        line_ids,
        zone_ids,
        line_roles={"door": LineRole.ENTRANCE},
        zone_roles={"till": ZoneRole.EXCLUSION},
    )


def test_the_people_scale_reaches_the_zones_mean_and_max() -> None:
    accumulator = IntervalAccumulator(60, [], ["till"], people_scale=1.25)
    for step, count in enumerate([3, 1, 2, 2]):
        accumulator.add_frame(T0 + step, [], {"till": count})
    (totals,) = accumulator.flush()
    assert totals.zone_sums == {"till": 8}  # as counted
    # mean 8 × 1.25 / 4 frames; max 3 × 1.25 = 3.75 -> 4
    assert message(totals).zones["till"] == ZoneOccupancy(mean=2.5, max=4)


def test_the_zone_mean_is_rounded_to_four_decimals() -> None:
    accumulator = IntervalAccumulator(60, [], ["till"])
    for step, count in enumerate([1, 0, 0]):
        accumulator.add_frame(T0 + step, [], {"till": count})
    (totals,) = accumulator.flush()
    assert message(totals).zones["till"].mean == 0.3333  # 1 / 3 frames


def test_no_frames_or_a_zone_never_seen_read_as_zero() -> None:
    empty = IntervalTotals(datetime.fromtimestamp(T0, UTC), datetime.fromtimestamp(T0 + 60, UTC))
    assert empty.zone_mean("till") == 0.0
    accumulator = IntervalAccumulator(60, [], ["till"], people_scale=2.0)
    accumulator.add_frame(T0, [], {"till": 1})
    accumulator.add_frame(T0 + 1, [], {"till": 2})
    (totals,) = accumulator.flush()
    assert (totals.zone_mean("till"), totals.zone_max("till")) == (3.0, 4)
    assert (totals.zone_mean("elsewhere"), totals.zone_max("elsewhere")) == (0.0, 0)


def test_a_declared_zone_no_frame_mentions_is_reported_as_zeros() -> None:
    accumulator = IntervalAccumulator(60, [], ["till"])
    accumulator.add_frame(T0 + 1, [], {})
    accumulator.add_frame(T0 + 2, [], {})
    (totals,) = accumulator.flush()
    assert totals.zone_sums == {"till": 0}
    assert totals.zone_maxima == {"till": 0}
    assert totals.zone_dwell_seconds == {"till": []}
    assert message(totals).zones == {"till": ZoneOccupancy(mean=0.0, max=0)}


def test_lines_and_zones_not_declared_up_front_count_from_zero() -> None:
    accumulator = version_2(["door"], ["till"])
    accumulator.add_frame(
        T0 + 1,
        [entry("side"), exit_("side")],
        {"till": 1, "mat": 2, "queue": 1, "porch": 0},
        {"queue": [45.0]},
    )
    accumulator.add_frame(T0 + 2, [entry("side")], {"mat": 1, "queue": 3, "porch": 0})
    (totals,) = accumulator.flush()
    assert (totals.entries, totals.exits) == ({"door": 0, "side": 2}, {"door": 0, "side": 1})
    assert totals.zone_sums == {"till": 1, "mat": 3, "queue": 4, "porch": 0}
    assert totals.zone_maxima == {"till": 1, "mat": 2, "queue": 3, "porch": 0}
    counted = message(totals)
    assert counted.schema_version == 2
    assert counted.lines == {
        "door": LineCount(entries=0, exits=0, role=LineRole.ENTRANCE),
        "side": LineCount(entries=2, exits=1, role=LineRole.INTERNAL),
    }
    none = DwellCounts()
    assert counted.zones == {
        "till": ZoneOccupancy(mean=0.5, max=1, role=ZoneRole.EXCLUSION, dwell=none),
        "mat": ZoneOccupancy(mean=1.5, max=2, role=ZoneRole.COUNTING, dwell=none),
        "queue": ZoneOccupancy(
            mean=2.0,
            max=3,
            role=ZoneRole.COUNTING,
            dwell=DwellCounts(from_30_to_120_seconds=1),
        ),
        "porch": ZoneOccupancy(mean=0.0, max=0, role=ZoneRole.COUNTING, dwell=none),
    }


def test_late_crossings_and_stays_go_into_the_open_interval_by_direction_and_zone() -> None:
    accumulator = version_2(["door"], ["till"])
    accumulator.add_frame(T0 + 1, [entry(), exit_()], {"till": 1}, {"till": [5.0]})
    accumulator.add_late(
        [entry(), entry(), exit_(), entry("side"), exit_("side")],
        {"till": [45.0], "queue": [700.0]},
    )
    (totals,) = accumulator.flush()
    assert (totals.entries, totals.exits) == ({"door": 3, "side": 1}, {"door": 2, "side": 1})
    assert totals.zone_dwell_seconds == {"till": [5.0, 45.0], "queue": [700.0]}
    counted = message(totals)
    assert counted.lines["door"] == LineCount(entries=3, exits=2, role=LineRole.ENTRANCE)
    assert counted.zones["till"].dwell == DwellCounts(under_30_seconds=1, from_30_to_120_seconds=1)


def test_late_crossings_without_an_open_interval_are_dropped() -> None:
    accumulator = IntervalAccumulator(60, ["door"], ["till"])
    accumulator.add_late([entry(), exit_()], {"till": [45.0]})
    assert accumulator.flush() == []
    accumulator.add_frame(T0 + 1, [entry()], {"till": 0})
    (totals,) = accumulator.flush()
    assert (totals.entries, totals.exits) == ({"door": 1}, {"door": 0})
    assert totals.zone_dwell_seconds == {"till": []}


def test_a_flushed_accumulator_has_nothing_more_to_flush() -> None:
    accumulator = IntervalAccumulator(60, ["door"], [])
    accumulator.add_frame(T0 + 1, [entry()], {})
    (totals,) = accumulator.flush()
    assert totals.entries == {"door": 1}
    assert accumulator.open_interval_utc is None
    assert accumulator.flush() == []


def test_a_frame_exactly_at_the_restart_bound_is_counted_from_there() -> None:
    bound = datetime.fromtimestamp(T0 + 20, UTC)
    accumulator = IntervalAccumulator(60, ["door"], [], not_before_utc=bound)
    assert accumulator.add_frame(T0 + 20, [entry()], {}) == []
    (totals,) = accumulator.flush()
    assert (totals.start_utc, totals.end_utc) == (bound, bound + timedelta(seconds=40))
    assert totals.entries == {"door": 1}


def test_intervals_may_be_shorter_than_a_second() -> None:
    accumulator = IntervalAccumulator(0.5, ["door"], [])
    finished = accumulator.add_frame(T0 + 0.25, [entry()], {})
    finished += accumulator.add_frame(T0 + 0.75, [entry(), entry()], {})
    finished += accumulator.flush()
    assert [(totals.end_utc - totals.start_utc) for totals in finished] == [
        timedelta(seconds=0.5),
        timedelta(seconds=0.5),
    ]
    assert [totals.entries["door"] for totals in finished] == [1, 2]


@pytest.mark.parametrize(
    ("settings", "error"),
    [
        ({"interval_seconds": 0}, r"interval_seconds must be > 0, got 0"),
        ({"interval_seconds": -60}, r"interval_seconds must be > 0, got -60"),
        ({"people_scale": 0.0}, r"people_scale must be > 0, got 0.0"),
        ({"line_roles": {}}, r"give both line_roles and zone_roles, or neither"),
        ({"zone_roles": {}}, r"give both line_roles and zone_roles, or neither"),
    ],
)
def test_construction_errors_name_the_bad_setting(settings: dict[str, object], error: str) -> None:
    arguments: dict[str, object] = {"interval_seconds": 60, "line_ids": [], "zone_ids": []}
    with pytest.raises(ValueError, match=error):
        IntervalAccumulator(**{**arguments, **settings})  # type: ignore[arg-type]
