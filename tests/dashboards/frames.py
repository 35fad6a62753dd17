"""What Grafana does with query results before drawing them, for the few panels whose
meaning depends on it: table rows (tags as columns, the ``organize`` transformation, the
table's sort) and the before/after overlay (row index per query, joined on it).

Grafana's own code cannot run here; these functions restate the documented behaviour so that
tests can check what a user would see (the order of the load table, day n before against day
n after), not only what InfluxDB returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aggregator.storage.influx import Series

Json = dict[str, Any]
Row = dict[str, Any]


def table_rows(series: Sequence[Series], panel: Json) -> list[Row]:
    """Rows of a table panel: ``Time``, the group's tags, then the selected columns; renamed
    and hidden by the panel's ``organize`` transformation and sorted by ``options.sortBy``;
    empty cells go last (a store without capacity has no load)."""
    rows: list[Row] = []
    for one in series:
        for values in one.values:
            row: Row = {"Time": values[0], **one.tags}
            row.update(zip(one.columns[1:], values[1:], strict=True))
            rows.append(row)
    for transformation in panel.get("transformations", []):
        if transformation["id"] == "organize":
            rows = [_organize(row, transformation["options"]) for row in rows]
    for order in reversed(panel.get("options", {}).get("sortBy", [])):
        column, descending = order["displayName"], bool(order.get("desc"))
        present = [row for row in rows if row.get(column) is not None]
        empty = [row for row in rows if row.get(column) is None]
        present.sort(key=lambda row: row[column], reverse=descending)
        rows = present + empty
    return rows


def _organize(row: Row, options: Json) -> Row:
    excluded = options.get("excludeByName", {})
    renamed = options.get("renameByName", {})
    return {renamed.get(name, name): value for name, value in row.items() if not excluded.get(name)}


def joined_by_row_index(per_query: Sequence[Sequence[Series]]) -> list[list[Any]]:
    """Grafana's "row index" field added to each query's frame separately (``calculateField``
    with ``timeSeries: false``) and an outer join on it:
    row n holds the n-th value of every query (None where a query has fewer rows). Each query
    must return one series (one frame), as the overlay panel's queries do."""
    columns: list[list[Any]] = []
    for series in per_query:
        if len(series) != 1:
            raise ValueError(f"an overlaid query must return one series, not {len(series)}")
        columns.append([values[1] for values in series[0].values])
    length = max((len(column) for column in columns), default=0)
    return [
        [column[index] if index < len(column) else None for column in columns]
        for index in range(length)
    ]
