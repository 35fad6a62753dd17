"""The port of Grafana's InfluxDB backend response parsing (``grafana_frames.py``) on small
results: frame names from aliases and defaults (``FormatFrameName``), table frames with tags
as fields, value types and epoch-millisecond times."""

from __future__ import annotations

import pytest

from aggregator.storage.influx import Series
from tests.dashboards.grafana_frames import backend_frames, epoch_ms, frame_name

NORTH_DOOR = Series(
    name="line_counts",
    tags={"store": "north", "camera": "door-cam"},
    columns=["time", "entries", "exits"],
    values=[["2024-01-29T00:00:00-05:00", 720, 700], ["2024-01-30T00:00:00-05:00", None, 3]],
)


@pytest.mark.parametrize(
    ("alias", "column", "name"),
    [
        ("", "entries", "line_counts.entries { camera: door-cam, store: north }"),
        ("$tag_store / $tag_camera", "entries", "north / door-cam"),
        ("[[tag_store]] [[col]]", "exits", "north exits"),
        ("$m $col", "entries", "line_counts entries"),
        ("$tag_line", "entries", "$tag_line"),
        ("before", "entries", "before"),
    ],
)
def test_frame_names_follow_the_alias(alias: str, column: str, name: str) -> None:
    assert frame_name(NORTH_DOOR, column, alias) == name


def test_time_series_frames_one_per_series_and_column() -> None:
    frames = backend_frames([NORTH_DOOR], ref_id="A", table=False, alias="$tag_store")
    assert [frame["name"] for frame in frames] == ["north", "north"]
    time, value = frames[0]["fields"]
    assert time["values"] == [epoch_ms("2024-01-29T05:00:00Z"), epoch_ms("2024-01-30T05:00:00Z")]
    assert (value["name"], value["type"], value["values"]) == ("Value", "number", [720.0, None])
    assert value["labels"] == {"camera": "door-cam", "store": "north"}
    assert value["config"] == {"displayNameFromDS": "north"}


def test_table_frame_has_tags_as_fields_in_the_servers_order() -> None:
    south = Series(
        "line_counts",
        {"store": "south", "camera": "front"},
        ["time", "entries", "exits"],
        [["1970-01-01T00:00:00Z", 5, 4]],
    )
    for order, tags in (("sorted", ["camera", "store"]), ("reversed", ["store", "camera"])):
        (frame,) = backend_frames([NORTH_DOOR, south], ref_id="A", table=True, tag_order=order)
        assert [field["name"] for field in frame["fields"]] == ["Time", *tags, "entries", "exits"]
        store = next(field for field in frame["fields"] if field["name"] == "store")
        assert store["values"] == ["north", "north", "south"]
        entries = frame["fields"][-2]
        assert entries["values"] == [720.0, None, 5.0]


def test_strings_and_booleans_keep_their_type() -> None:
    status = Series(
        "edge_status", {}, ["time", "state", "online"], [["2024-02-11T12:41:00Z", "offline", False]]
    )
    (frame,) = backend_frames([status], ref_id="A", table=True)
    assert [(field["name"], field["type"]) for field in frame["fields"]] == [
        ("Time", "time"),
        ("state", "string"),
        ("online", "boolean"),
    ]
    assert backend_frames([], ref_id="A", table=True) == []
