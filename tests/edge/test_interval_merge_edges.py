"""Merge edges found by ``make mutation`` (issue 17): lines and zones that only one of the two
intervals has (a line added to the config between them would otherwise lose or gain counts),
zones over intervals without frames, a line's role carried from whichever half has it, and a
merge reaching exactly the 7-day limit of the wire schema."""

from __future__ import annotations

from datetime import timedelta

import pytest

from edge.transport.interval_merge import merge_intervals
from protocol.messages import CountInterval, LineCount, LineRole, ZoneOccupancy
from tests.aggregator.test_schema_v2 import version_2
from tests.edge.test_outbox import make_interval


def with_parts(
    interval: CountInterval, lines: dict[str, LineCount], zones: dict[str, ZoneOccupancy]
) -> CountInterval:
    return interval.model_copy(update={"lines": lines, "zones": zones})


def test_lines_and_zones_of_one_half_only_are_merged_exactly() -> None:
    earlier = with_parts(
        make_interval(0, frames=10),
        {"entrance": LineCount(entries=3, exits=1), "back": LineCount(entries=1, exits=2)},
        {"queue": ZoneOccupancy(mean=2.0, max=4), "empty": ZoneOccupancy(mean=0.0, max=0)},
    )
    later = with_parts(
        make_interval(1, frames=30),
        {"entrance": LineCount(entries=2, exits=0), "side": LineCount(entries=4, exits=5)},
        {"tills": ZoneOccupancy(mean=1.5, max=3), "empty": ZoneOccupancy(mean=0.0, max=0)},
    )
    merged = merge_intervals(earlier, later, sequence=5)
    assert merged is not None
    assert merged.lines == {
        "entrance": LineCount(entries=5, exits=1),
        "back": LineCount(entries=1, exits=2),
        "side": LineCount(entries=4, exits=5),
    }
    assert list(merged.lines) == ["entrance", "back", "side"]
    # A zone of one half is averaged over that half's frames only.
    assert merged.zones == {
        "queue": ZoneOccupancy(mean=2.0, max=4),
        "empty": ZoneOccupancy(mean=0.0, max=0),
        "tills": ZoneOccupancy(mean=1.5, max=3),
    }
    assert merged.frames == 40


def test_a_zone_over_intervals_without_frames_has_a_mean_of_zero() -> None:
    zones = {"queue": ZoneOccupancy(mean=0.0, max=1)}
    earlier = with_parts(make_interval(0, frames=0), {}, zones)
    later = with_parts(make_interval(1, frames=0), {}, zones)
    merged = merge_intervals(earlier, later, sequence=2)
    assert merged is not None
    assert merged.zones == {"queue": ZoneOccupancy(mean=0.0, max=1)}
    assert merged.frames == 0


def test_a_line_of_one_half_keeps_its_role() -> None:
    earlier = version_2(0, door=(3, 1, LineRole.ENTRANCE), street=(20, 18, LineRole.PASSING))
    later = version_2(1, door=(2, 2, LineRole.ENTRANCE), aisle=(6, 4, LineRole.INTERNAL))
    merged = merge_intervals(earlier, later, sequence=9)
    assert merged is not None
    assert merged.lines == {
        "door": LineCount(entries=5, exits=3, role=LineRole.ENTRANCE),
        "street": LineCount(entries=20, exits=18, role=LineRole.PASSING),
        "aisle": LineCount(entries=6, exits=4, role=LineRole.INTERNAL),
    }


@pytest.mark.parametrize(
    ("later_start_minutes", "merges"),
    [(7 * 24 * 60 - 1, True), (7 * 24 * 60, False)],
)
def test_a_merge_may_reach_seven_days_exactly(later_start_minutes: int, merges: bool) -> None:
    """Intervals of one minute: the later one ending 7 days after the earlier one's start
    is the longest merge the wire schema allows."""
    earlier = make_interval(0, entries=2)
    later = make_interval(later_start_minutes, entries=3)
    merged = merge_intervals(earlier, later, sequence=1)
    assert (merged is not None) is merges
    if merged is not None:
        assert merged.interval_end_utc - merged.interval_start_utc == timedelta(days=7)
        assert merged.lines["entrance"].entries == 5


@pytest.mark.parametrize(("slack", "merges"), [(0, True), (-1, False)])
def test_a_merge_may_reach_the_payload_limit_exactly(
    monkeypatch: pytest.MonkeyPatch, slack: int, merges: bool
) -> None:
    """The aggregator accepts a payload of exactly ``MAX_PAYLOAD_BYTES``: a merge that long is
    kept; one byte longer and the two intervals stay apart (both then still deliverable)."""
    earlier, later = make_interval(0, entries=2), make_interval(1, entries=3)
    merged = merge_intervals(earlier, later, sequence=1)
    assert merged is not None
    size = len(merged.model_dump_json().encode())
    monkeypatch.setattr("edge.transport.interval_merge.MAX_PAYLOAD_BYTES", size + slack)
    again = merge_intervals(earlier, later, sequence=1)
    assert (again is not None) is merges
    if again is not None:
        assert again.lines["entrance"].entries == 5
