"""InfluxQL results shaped as Grafana's InfluxDB backend returns them to the browser: data
frames, as built by ``pkg/tsdb/influxdb/influxql/buffered/response_parser.go`` and
``influxql/util/util.go`` (Grafana 11 to 13; AGPL-3.0, restated here in Python).

- ``table`` format: one frame for all series; ``Time``, then one string field per group tag
  in the order the server's map yields them (``tag_order`` picks one, so tests can check that
  a panel does not depend on it), then one field per selected column, rows of all series
  concatenated.
- ``time_series`` format: one frame per series and selected column, a ``Time`` field and a
  ``Value`` field labelled with the group's tags; the frame name (and the value's
  ``displayNameFromDS``) is the target's alias with ``$tag_<key>``, ``$col``, ``$m`` filled in,
  or ``<measurement>.<column> { key: value, ... }`` without an alias.

Times become epoch milliseconds (Grafana asks InfluxDB for ``epoch=ms``); numbers are float
fields, strings string fields, booleans boolean fields; a column with only nulls is a number
field.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from aggregator.storage.influx import Series

Json = dict[str, Any]
TagOrder = Literal["sorted", "reversed"]
_ALIAS_PATTERN = re.compile(r"\[\[([\@\/\w-]+)(\.[\@\/\w-]+)*\]\]*|\$([\@\w-]+?)*")


def epoch_ms(value: str) -> int:
    """An InfluxDB RFC 3339 time (``Z`` or a ``tz()`` offset) in epoch milliseconds."""
    return round(datetime.fromisoformat(value).timestamp() * 1000)


def _field_type(values: Sequence[Any]) -> str:
    first = next((value for value in values if value is not None), None)
    if isinstance(first, bool):
        return "boolean"
    if isinstance(first, str):
        return "string"
    return "number"


def _value_field(name: str, values: list[Any], labels: dict[str, str] | None = None) -> Json:
    kind = _field_type(values)
    if kind == "number":
        values = [None if value is None else float(value) for value in values]
    field: Json = {"name": name, "type": kind, "values": values, "config": {}}
    if labels:
        field["labels"] = dict(labels)
    return field


def _ordered_tags(tags: dict[str, str], tag_order: TagOrder) -> list[str]:
    return sorted(tags, reverse=tag_order == "reversed")


def table_frame(series: Sequence[Series], ref_id: str, tag_order: TagOrder = "sorted") -> Json:
    """``transformRowsForTable``: the one frame of a table-format query."""
    first = series[0]
    fields: list[Json] = []
    if first.columns[0] == "time":
        times = [epoch_ms(row[0]) for one in series for row in one.values]
        fields.append({"name": "Time", "type": "time", "values": times, "config": {}})
    else:
        fields.append(_value_field(first.columns[0], [r[0] for s in series for r in s.values]))
    for key in _ordered_tags(first.tags, tag_order):
        values = [one.tags.get(key, "") for one in series for _ in one.values]
        fields.append(
            {"name": key, "type": "string", "values": values, "config": {"displayNameFromDS": key}}
        )
    for index, column in enumerate(first.columns[1:], start=1):
        field = _value_field(column, [row[index] for one in series for row in one.values])
        field["config"] = {"displayNameFromDS": column}
        fields.append(field)
    return {"name": first.name, "refId": ref_id, "fields": fields}


def frame_name(one: Series, column: str, alias: str, tag_order: TagOrder = "sorted") -> str:
    """``FormatFrameName``: the alias with its patterns filled in, or the default name."""
    if not alias:
        name = f"{one.name}.{column}"
        if one.tags:
            keys = _ordered_tags(one.tags, tag_order)
            pairs = ", ".join(f"{key}: {one.tags[key]}" for key in keys)
            name += f" {{ {pairs} }}"
        return name
    segments = one.name.split(".")

    def replace(match: re.Match[str]) -> str:
        text = match.group(0)
        pattern = text.replace("[[", "", 1).replace("]]", "", 1).replace("$", "", 1)
        if pattern in ("m", "measurement"):
            return one.name
        if pattern == "col":
            return column
        if pattern.isdigit() and int(pattern) < len(segments):
            return segments[int(pattern)]
        if pattern.startswith("tag_") and pattern[4:] in one.tags:
            return one.tags[pattern[4:]]
        return text

    return _ALIAS_PATTERN.sub(replace, alias)


def time_series_frames(
    series: Sequence[Series], ref_id: str, alias: str = "", tag_order: TagOrder = "sorted"
) -> list[Json]:
    """``transformRowsForTimeSeries``: one frame per series and selected column."""
    frames = []
    for one in series:
        times = [epoch_ms(row[0]) for row in one.values]
        for index, column in enumerate(one.columns):
            if column == "time":
                continue
            name = frame_name(one, column, alias, tag_order)
            value = _value_field("Value", [row[index] for row in one.values], one.tags)
            value["config"] = {"displayNameFromDS": name}
            time_field = {"name": "Time", "type": "time", "values": times, "config": {}}
            frames.append({"name": name, "refId": ref_id, "fields": [time_field, value]})
    return frames


def backend_frames(
    series: Sequence[Series],
    *,
    ref_id: str,
    table: bool,
    alias: str = "",
    tag_order: TagOrder = "sorted",
) -> list[Json]:
    """The frames Grafana's InfluxDB backend returns for one query's result."""
    if not series:
        return []
    if table:
        return [table_frame(series, ref_id, tag_order)]
    return time_series_frames(series, ref_id, alias, tag_order)
