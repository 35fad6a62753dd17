"""Count intervals of schema version 2 (line and zone roles, dwell buckets) beside version 1:
the wire rules, what the aggregator stores in the real InfluxDB (a role tag on
``line_counts``, ``zone_dwell``) and what moves occupancy (entrance and staff lines, never
passing or internal ones), including the rebuild from InfluxDB after a restart."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from aggregator.config import AggregatorConfig
from aggregator.ingest.occupancy import OccupancyBook
from aggregator.ingest.occupancy_sources import rebuild_from_influx
from aggregator.ingest.validation import Rejection, validate_message
from aggregator.storage.encoding import IntervalEncoder
from aggregator.storage.influx import InfluxClient
from aggregator.storage.measurements import (
    LINE_COUNTS,
    ZONE_DWELL,
    LineCountsField,
    Tag,
    ZoneDwellField,
)
from protocol.messages import (
    CountInterval,
    DwellCounts,
    LineCount,
    LineRole,
    ZoneOccupancy,
    ZoneRole,
)

START = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
TOPIC = "footfall/v1/s1/cam/counts"


def version_2(minute: int = 0, **lines: tuple[int, int, LineRole]) -> CountInterval:
    start = START + timedelta(minutes=minute)
    return CountInterval(
        schema_version=2,
        store_id="s1",
        camera_id="cam",
        sequence=minute,
        interval_start_utc=start,
        interval_end_utc=start + timedelta(minutes=1),
        frames=600,
        lines={
            line_id: LineCount(entries=entries, exits=exits, role=role)
            for line_id, (entries, exits, role) in lines.items()
        },
        zones={
            "tills": ZoneOccupancy(
                mean=1.5,
                max=3,
                role=ZoneRole.COUNTING,
                dwell=DwellCounts(
                    under_30_seconds=4,
                    from_30_to_120_seconds=3,
                    from_120_to_600_seconds=2,
                    over_600_seconds=1,
                ),
            ),
            "stockroom": ZoneOccupancy(
                mean=0.0, max=0, role=ZoneRole.EXCLUSION, dwell=DwellCounts()
            ),
        },
        software_version="0.2.0",
        config_fingerprint="0123abcd",
    )


STORE_LINES = {
    "door": (10, 4, LineRole.ENTRANCE),
    "street": (30, 25, LineRole.PASSING),
    "staff-door": (2, 5, LineRole.STAFF),
    "aisle": (7, 7, LineRole.INTERNAL),
}


def registry(entrance_lines: list[str] | None) -> AggregatorConfig:
    camera: dict[str, Any] = {"id": "cam"}
    if entrance_lines is not None:
        camera["entrance_lines"] = entrance_lines
    store = {"id": "s1", "daily_reset_local_time": "04:00", "cameras": [camera]}
    return AggregatorConfig.model_validate({"stores": [store]})


def test_version_1_documents_are_unchanged_and_carry_no_roles() -> None:
    document = json.loads(
        CountInterval(
            store_id="s1",
            camera_id="cam",
            sequence=1,
            interval_start_utc=START,
            interval_end_utc=START + timedelta(minutes=1),
            frames=1,
            lines={"door": LineCount(entries=1, exits=0)},
            zones={"tills": ZoneOccupancy(mean=0.5, max=1)},
            software_version="0.1.0",
            config_fingerprint="0123abcd",
        ).model_dump_json()
    )
    assert document["schema_version"] == 1
    assert document["lines"] == {"door": {"entries": 1, "exits": 0}}
    assert document["zones"] == {"tills": {"mean": 0.5, "max": 1}}


@pytest.mark.parametrize(
    ("version", "line", "zone"),
    [
        (1, {"entries": 1, "exits": 0, "role": "entrance"}, {"mean": 0.5, "max": 1}),
        (2, {"entries": 1, "exits": 0}, None),
        (2, {"entries": 1, "exits": 0, "role": "entrance"}, {"mean": 0.5, "max": 1}),
        (2, {"entries": 1, "exits": 0, "role": "door"}, None),
        (
            2,
            {"entries": 1, "exits": 0, "role": "entrance"},
            {"mean": 0.5, "max": 1, "role": "exclusion"},  # no dwell
        ),
    ],
)
def test_the_version_decides_which_fields_must_be_there(
    version: int, line: dict[str, Any], zone: dict[str, Any] | None
) -> None:
    document = json.loads(version_2(**STORE_LINES).model_dump_json())
    document["schema_version"] = version
    document["lines"] = {"door": line}
    document["zones"] = {} if zone is None else {"tills": zone}
    with pytest.raises(ValidationError):
        CountInterval.model_validate(document)
    result = validate_message(TOPIC, json.dumps(document).encode(), "footfall/v1")
    assert isinstance(result, Rejection)
    assert result.reason == "invalid_fields"


def test_version_2_round_trips_through_validation() -> None:
    message = version_2(**STORE_LINES)
    received = validate_message(TOPIC, message.model_dump_json().encode(), "footfall/v1")
    assert received == message
    assert isinstance(received, CountInterval)
    assert received.lines["street"].role is LineRole.PASSING
    assert received.zones["tills"].dwell == DwellCounts(
        under_30_seconds=4, from_30_to_120_seconds=3, from_120_to_600_seconds=2, over_600_seconds=1
    )


def test_roles_and_dwell_are_stored_in_influxdb(influx: InfluxClient) -> None:
    """The registry lists ``street`` as an entrance: a version 2 line's own role wins."""
    encoder = IntervalEncoder()
    lines = encoder.encode(version_2(**STORE_LINES), {"street", "door"})
    influx.write_body(("\n".join(lines) + "\n").encode())
    series = influx.query(
        f"SELECT sum({LineCountsField.ENTRIES}), sum({LineCountsField.EXITS}) "
        f"FROM {LINE_COUNTS} GROUP BY {Tag.LINE}, {Tag.ROLE}, {Tag.ENTRANCE}"
    )
    stored = {
        (one.tags[Tag.LINE], one.tags[Tag.ROLE], one.tags[Tag.ENTRANCE]): (
            row["sum"],
            row["sum_1"],
        )
        for one in series
        for row in one.rows()
    }
    assert stored == {
        ("door", "entrance", "true"): (10, 4),
        ("street", "passing", "false"): (30, 25),
        ("staff-door", "staff", "false"): (2, 5),
        ("aisle", "internal", "false"): (7, 7),
    }
    buckets = ", ".join(f"sum({field})" for field in ZoneDwellField.BUCKETS)
    series = influx.query(f"SELECT {buckets} FROM {ZONE_DWELL} GROUP BY {Tag.ZONE}, {Tag.ROLE}")
    dwell = {
        (one.tags[Tag.ZONE], one.tags[Tag.ROLE]): [row[key] for key in row if key != "time"]
        for one in series
        for row in one.rows()
    }
    assert dwell == {("tills", "counting"): [4, 3, 2, 1], ("stockroom", "exclusion"): [0, 0, 0, 0]}


def test_a_version_1_interval_keeps_its_old_series(influx: InfluxClient) -> None:
    """No role tag: a redelivered old interval overwrites the point it wrote before."""
    message = version_2(**STORE_LINES)
    old = CountInterval(
        **{
            **message.model_dump(exclude={"lines", "zones", "schema_version"}),
            "lines": {"door": LineCount(entries=10, exits=4)},
        }
    )
    lines = IntervalEncoder().encode(old, None)
    assert lines[0].startswith("line_counts,camera=cam,entrance=true,line=door,store=s1 ")
    for _ in range(2):
        influx.write_body(("\n".join(lines) + "\n").encode())
    series = influx.query(f"SELECT count({LineCountsField.ENTRIES}) FROM {LINE_COUNTS}")
    assert series[0].rows().__next__()["count"] == 1


def test_entrance_and_staff_lines_move_occupancy_passing_and_internal_do_not(
    influx: InfluxClient,
) -> None:
    """Occupancy = door (10 - 4) + staff door (2 - 5) = 3; entries/exits today count the
    movements that change it (12 / 9). Visits stay the door's 10 (``entrance`` tag)."""
    book = OccupancyBook(registry(None), NOW)
    book.apply_message(version_2(**STORE_LINES))
    snapshot = book.snapshots(NOW)[0]
    assert (snapshot.occupancy, snapshot.entries_today, snapshot.exits_today) == (3, 12, 9)
    lines = IntervalEncoder().encode(version_2(**STORE_LINES), None)
    influx.write_body(("\n".join(lines) + "\n").encode())
    rebuilt = OccupancyBook(registry(None), NOW)
    assert rebuild_from_influx(influx, rebuilt, registry(None), NOW) == 2
    again = rebuilt.snapshots(NOW)[0]
    assert (again.occupancy, again.entries_today, again.exits_today) == (3, 12, 9)


def test_version_1_lines_still_follow_the_registry() -> None:
    book = OccupancyBook(registry(["door"]), NOW)
    old = version_2(**STORE_LINES)
    book.apply_message(
        CountInterval(
            **{
                **old.model_dump(exclude={"lines", "zones", "schema_version"}),
                "lines": {
                    "door": LineCount(entries=10, exits=4),
                    "street": LineCount(entries=30, exits=25),
                },
            }
        )
    )
    assert book.snapshots(NOW)[0].occupancy == 6


@pytest.mark.parametrize(
    ("registry_lines", "expected"),
    [
        (None, {"door": "entrance", "street": "passing", "staff-door": "staff"}),
        # the registry narrows entrances: an edge 'entrance' it does not list is internal
        (["street"], {"door": "internal", "street": "passing", "staff-door": "staff"}),
        (["door"], {"door": "entrance", "street": "passing", "staff-door": "staff"}),
    ],
)
def test_the_registry_only_narrows_entrances(
    registry_lines: list[str] | None, expected: dict[str, str]
) -> None:
    lines = IntervalEncoder().encode(
        version_2(**{key: STORE_LINES[key] for key in expected}),
        None if registry_lines is None else set(registry_lines),
    )
    stored = {}
    for text in lines:
        if text.startswith(LINE_COUNTS):
            tags = dict(part.split("=") for part in text.split(" ")[0].split(",")[1:])
            stored[tags[Tag.LINE]] = tags[Tag.ROLE]
            assert tags[Tag.ENTRANCE] == ("true" if tags[Tag.ROLE] == "entrance" else "false")
    assert stored == expected
    book = OccupancyBook(registry(registry_lines), NOW)
    book.apply_message(version_2(**{key: STORE_LINES[key] for key in expected}))
    occupancy = book.snapshots(NOW)[0].occupancy
    assert occupancy == (3 if expected["door"] == "entrance" else 0)  # door 10-4, staff 2-5


def test_a_registry_entrance_that_the_edge_calls_otherwise_is_named_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from aggregator.ingest.entrances import EntranceLineWatch

    watch = EntranceLineWatch(registry(["door", "street"]))
    with caplog.at_level("WARNING"):
        watch.observe(version_2(**STORE_LINES))
        watch.observe(version_2(1, **STORE_LINES))
    warnings = [
        record.getMessage() for record in caplog.records if "registry" in record.getMessage()
    ]
    assert warnings == [
        "line s1/cam/street is an entrance in the aggregator's registry but the edge says "
        "role: passing, and the edge's role wins (set role: entrance in the edge config, or "
        "drop the line from entrance_lines)"
    ]
    assert watch.never_seen() == []
