"""The outbox merges schema version 2 intervals keeping roles and summing dwell counts, and
never merges a version 1 interval with a version 2 one."""

from __future__ import annotations

from datetime import timedelta

from edge.transport.interval_merge import merge_intervals
from protocol.messages import CountInterval, DwellCounts, LineRole
from tests.aggregator.test_schema_v2 import STORE_LINES, version_2


def test_version_2_intervals_merge_with_roles_and_summed_dwell() -> None:
    merged = merge_intervals(version_2(0, **STORE_LINES), version_2(1, **STORE_LINES), 9)
    assert merged is not None
    assert merged.schema_version == 2
    assert merged.lines["street"].role is LineRole.PASSING
    assert (merged.lines["street"].entries, merged.lines["street"].exits) == (60, 50)
    assert merged.zones["tills"].dwell == DwellCounts(
        under_30_seconds=8, from_30_to_120_seconds=6, from_120_to_600_seconds=4, over_600_seconds=2
    )
    assert merged.interval_end_utc - merged.interval_start_utc == timedelta(minutes=2)


def test_versions_never_mix() -> None:
    later = version_2(1, **STORE_LINES)
    old = CountInterval(**later.model_dump(exclude={"lines", "zones", "schema_version"}))
    assert merge_intervals(version_2(0, **STORE_LINES), old, 9) is None
