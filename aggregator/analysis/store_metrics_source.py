"""The per-hour inputs of :mod:`aggregator.analysis.store_metrics` read from InfluxDB: entries
on entrance lines and crossings of passing lines (``line_counts``), till transactions
(``store_transactions``) and the time-weighted mean of the live occupancy
(``store_occupancy``, a point per change)."""

from __future__ import annotations

from datetime import UTC, datetime

from aggregator.analysis.store_metrics import HOUR, HourInputs, time_weighted_mean
from aggregator.storage.influx import InfluxClient, parse_time, quote_identifier, quote_string
from aggregator.storage.measurements import (
    ENTRANCE_TRUE,
    LINE_COUNTS,
    STORE_OCCUPANCY,
    STORE_TRANSACTIONS,
    LineCountsField,
    StoreOccupancyField,
    StoreTransactionsField,
    Tag,
)
from protocol.messages import LineRole

MAXIMUM_HOURS = 24 * 400
"""The longest range one request may ask for (a little over a year of hours)."""


def _time(moment: datetime) -> str:
    return quote_string(moment.astimezone(UTC).isoformat().replace("+00:00", "Z"))


def hour_floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


class StoreMetricsSource:
    def __init__(self, client: InfluxClient) -> None:
        self.client = client

    def hours(self, store: str, start: datetime, end: datetime) -> list[HourInputs]:
        """One :class:`HourInputs` per hour in ``[start, end)`` (both rounded down to hours)."""
        first, last = hour_floor(start), hour_floor(end)
        count = int((last - first) / HOUR)
        if count <= 0:
            raise ValueError(f"the range {start.isoformat()} .. {end.isoformat()} has no hour")
        if count > MAXIMUM_HOURS:
            raise ValueError(f"the range has {count} hours; at most {MAXIMUM_HOURS} per request")
        where = (
            f"{quote_identifier(Tag.STORE)} = {quote_string(store)} "
            f"AND time >= {_time(first)} AND time < {_time(last)}"
        )
        entries = self._hourly(
            f"SELECT sum({quote_identifier(LineCountsField.ENTRIES)}) FROM "
            f"{quote_identifier(LINE_COUNTS)} WHERE {quote_identifier(Tag.ENTRANCE)} = "
            f"{quote_string(ENTRANCE_TRUE)} AND {where} GROUP BY time(1h) fill(none)"
        )
        passing = (
            f"FROM {quote_identifier(LINE_COUNTS)} WHERE {quote_identifier(Tag.ROLE)} = "
            f"{quote_string(LineRole.PASSING.value)} AND {where} GROUP BY time(1h) fill(none)"
        )
        passing_in = self._hourly(
            f"SELECT sum({quote_identifier(LineCountsField.ENTRIES)}) {passing}"
        )
        passing_out = self._hourly(
            f"SELECT sum({quote_identifier(LineCountsField.EXITS)}) {passing}"
        )
        transactions = self._hourly(
            f"SELECT sum({quote_identifier(StoreTransactionsField.TRANSACTIONS)}) FROM "
            f"{quote_identifier(STORE_TRANSACTIONS)} WHERE {where} GROUP BY time(1h) fill(none)"
        )
        changes = self._occupancy_changes(store, first, last)
        hours = []
        for index in range(count):
            hour = first + index * HOUR
            known = transactions.get(hour)
            hours.append(
                HourInputs(
                    start_utc=hour,
                    entries=int(entries.get(hour, 0)),
                    transactions=None if known is None else int(known),
                    mean_occupancy=time_weighted_mean(changes, hour, hour + HOUR),
                    passers_by=int(passing_in.get(hour, 0) + passing_out.get(hour, 0)),
                )
            )
        return hours

    def _hourly(self, statement: str) -> dict[datetime, float]:
        values: dict[datetime, float] = {}
        for series in self.client.query(statement):
            for moment, value in series.values:
                if value is not None:
                    values[parse_time(moment)] = float(value)
        return values

    def _occupancy_changes(
        self, store: str, first: datetime, last: datetime
    ) -> list[tuple[datetime, float]]:
        field = quote_identifier(StoreOccupancyField.OCCUPANCY)
        measurement = quote_identifier(STORE_OCCUPANCY)
        store_is = f"{quote_identifier(Tag.STORE)} = {quote_string(store)}"
        before = self.client.query(
            f"SELECT last({field}) FROM {measurement} WHERE {store_is} AND time < {_time(first)}"
        )
        inside = self.client.query(
            f"SELECT {field} FROM {measurement} WHERE {store_is} "
            f"AND time >= {_time(first)} AND time < {_time(last)}"
        )
        changes: list[tuple[datetime, float]] = []
        for series in before:
            for _, value in series.values:
                if value is not None:
                    changes.append((first, float(value)))
        for series in inside:
            for moment, value in series.values:
                if value is not None:
                    changes.append((parse_time(moment), float(value)))
        changes.sort(key=lambda change: change[0])
        return changes
