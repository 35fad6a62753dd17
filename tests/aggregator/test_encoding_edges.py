"""Encoder edges found by ``make mutation`` (issue 17): the hot-path encoder remembers series
keys between messages, so a line whose role changes in the store's config (a door turned
from staff-only to internal) must not keep the old role's key: its crossings would be stored
under the old ``role`` tag and counted as the wrong kind of crossing."""

from __future__ import annotations

import pytest

from aggregator.storage.encoding import IntervalEncoder, PointEncoder
from aggregator.storage.points import interval_points
from protocol.messages import LineRole
from tests.aggregator.test_schema_v2 import version_2


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (LineRole.STAFF, LineRole.INTERNAL),
        (LineRole.INTERNAL, LineRole.PASSING),
        (LineRole.ENTRANCE, LineRole.STAFF),
    ],
)
def test_a_line_whose_role_changes_is_stored_under_its_new_role(
    before: LineRole, after: LineRole
) -> None:
    encoder = IntervalEncoder()
    for minute, role in enumerate([before, after, before]):
        message = version_2(minute, back=(3, 2, role))
        encoded = encoder.encode(message, None)
        assert encoded == PointEncoder().encode_all(interval_points(message, None))
        (line,) = [text for text in encoded if text.startswith("line_counts,")]
        assert f",role={role.value}," in line
        assert "entries=3i,exits=2i" in line
