"""Where visit counts come from: InfluxDB (the product schema) or a ``time,store,visits`` CSV.

Only hourly sums are pulled from InfluxDB; calendar work (store-local dates, weekdays, DST)
happens in pandas, so InfluxQL's ``tz()`` is never needed and InfluxDB 1.6 answers the same as
2.x/3.x. Visits are entries on entrance lines (see ``aggregator.storage.measurements``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from aggregator.analysis.impact.metrics import Count, ratio_metric
from aggregator.storage.influx import InfluxClient, Series, quote_identifier, quote_string
from aggregator.storage.line_protocol import Point
from aggregator.storage.measurements import (
    CAMERA_INTERVALS,
    ENTRANCE_TRUE,
    LINE_COUNTS,
    STORE_OCCUPANCY,
    STORE_TRANSACTIONS,
    CameraIntervalsField,
    LineCountsField,
    StoreOccupancyField,
    StoreTransactionsField,
    Tag,
)
from aggregator.storage.points import policy_effect_point
from protocol.messages import LineRole

if TYPE_CHECKING:
    import pandas as pd

    from aggregator.analysis.impact.results import ImpactReport

TIMEZONE_MARGIN = timedelta(hours=15)
"""Local dates map to UTC within +-14 h; a little more is loaded and trimmed later."""


@dataclass(frozen=True)
class VisitData:
    """Hourly visits (``store, time_utc, visits``), camera coverage (``store, camera,
    time_utc, seconds``; None when the source has no cameras, e.g. a CSV: then an hour with a
    row is covered) and daily occupancy quality (``store, time_utc, drift, residual,
    entries``; None when unknown)."""

    hourly: pd.DataFrame
    coverage: pd.DataFrame | None = None
    occupancy: pd.DataFrame | None = None


class VisitLoader(Protocol):
    def load(self, stores: Sequence[str] | None, first_day: date, last_day: date) -> VisitData:
        """Data of ``stores`` (None: every store) from ``first_day`` to ``last_day``."""
        ...

    def daily_totals(self, first_day: date, last_day: date) -> pd.DataFrame:
        """Visits per store and UTC day (``store, time_utc, visits``) of every store: a cheap
        first look used to screen candidate control stores."""
        ...


@runtime_checkable
class CountLoader(VisitLoader, Protocol):
    """A loader that also has the counts a ratio metric needs (InfluxDB; a visits CSV has
    none)."""

    def hourly_counts(
        self, count: Count, stores: Sequence[str], first_day: date, last_day: date
    ) -> pd.DataFrame:
        """``store, time_utc, visits`` per hour with data, the ``count`` in the ``visits``
        column (the column the daily series read, whatever the count)."""
        ...


def utc_bounds(first_day: date, last_day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(first_day, time(0), tzinfo=UTC) - TIMEZONE_MARGIN
    end = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=UTC) + TIMEZONE_MARGIN
    return start, end


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _frame(series: list[Series], value_columns: list[str], tag_columns: list[str]) -> pd.DataFrame:
    import pandas as pd

    parts = []
    for one in series:
        if not one.values:
            continue
        part = pd.DataFrame(one.values, columns=one.columns)
        for tag in tag_columns:
            part[tag] = one.tags.get(tag, "")
        parts.append(part)
    columns = ["time", *tag_columns, *value_columns]
    if not parts:
        return pd.DataFrame({column: [] for column in columns}).rename(columns={"time": "time_utc"})
    frame = pd.concat(parts, ignore_index=True)[columns]
    frame["time"] = pd.to_datetime(frame["time"], utc=True, format="ISO8601")
    return frame.rename(columns={"time": "time_utc"})


def _visits_per(bucket: str, where: str) -> str:
    """Visits (entries on entrance lines) per ``bucket`` and store under ``where``."""
    return (
        f'SELECT sum({quote_identifier(LineCountsField.ENTRIES)}) AS "visits" '
        f"FROM {quote_identifier(LINE_COUNTS)} "
        f"WHERE {quote_identifier(Tag.ENTRANCE)} = {quote_string(ENTRANCE_TRUE)} AND {where} "
        f"GROUP BY time({bucket}), {quote_identifier(Tag.STORE)} fill(none)"
    )


def _count_per_hour(count: Count, where: str) -> str:
    """Transactions, or passers-by (both directions of ``passing`` lines), per hour and store
    under ``where``, as "visits"."""
    group = f"GROUP BY time(1h), {quote_identifier(Tag.STORE)} fill(none)"
    if count is Count.TRANSACTIONS:
        return (
            f'SELECT sum({quote_identifier(StoreTransactionsField.TRANSACTIONS)}) AS "visits" '
            f"FROM {quote_identifier(STORE_TRANSACTIONS)} WHERE {where} {group}"
        )
    if count is Count.PASSERS_BY:
        entries = quote_identifier(LineCountsField.ENTRIES)
        exits = quote_identifier(LineCountsField.EXITS)
        return (
            f'SELECT sum({entries}) + sum({exits}) AS "visits" '
            f"FROM {quote_identifier(LINE_COUNTS)} WHERE {quote_identifier(Tag.ROLE)} = "
            f"{quote_string(LineRole.PASSING.value)} AND {where} {group}"
        )
    return _visits_per("1h", where)


class InfluxVisitLoader:
    """Hourly visits, camera coverage and occupancy drift from InfluxDB's v1 API."""

    def __init__(self, client: InfluxClient) -> None:
        self.client = client

    def _where(self, stores: Sequence[str] | None, first_day: date, last_day: date) -> str:
        start, end = utc_bounds(first_day, last_day)
        clause = f"time >= '{_rfc3339(start)}' AND time < '{_rfc3339(end)}'"
        if stores is not None:
            store_tag = quote_identifier(Tag.STORE)
            matches = " OR ".join(f"{store_tag} = {quote_string(store)}" for store in stores)
            clause += f" AND ({matches})"
        return clause

    def load(self, stores: Sequence[str] | None, first_day: date, last_day: date) -> VisitData:
        """The three queries run concurrently: InfluxDB answers each on its own core, and the
        hourly group-bys dominate the time of an analysis."""
        from concurrent.futures import ThreadPoolExecutor

        where = self._where(stores, first_day, last_day)
        store, camera = quote_identifier(Tag.STORE), quote_identifier(Tag.CAMERA)
        seconds = quote_identifier(CameraIntervalsField.INTERVAL_SECONDS)
        drift = quote_identifier(StoreOccupancyField.DRIFT)
        residual = quote_identifier(StoreOccupancyField.RESET_RESIDUAL)
        entries_today = quote_identifier(StoreOccupancyField.ENTRIES_TODAY)
        statements = [
            _visits_per("1h", where),
            f'SELECT sum({seconds}) AS "seconds" FROM {quote_identifier(CAMERA_INTERVALS)}'
            f" WHERE {where} GROUP BY time(1h), {store}, {camera} fill(none)",
            f'SELECT max({drift}) AS "drift", max({residual}) AS "residual", '
            f'max({entries_today}) AS "entries" FROM {quote_identifier(STORE_OCCUPANCY)} '
            f"WHERE {where} GROUP BY time(1d), {store} fill(none)",
        ]
        with ThreadPoolExecutor(max_workers=len(statements)) as pool:
            visits, coverage, occupancy = pool.map(self.client.query, statements)
        coverage_frame = _frame(coverage, ["seconds"], [Tag.STORE, Tag.CAMERA])
        occupancy_frame = _frame(occupancy, ["drift", "residual", "entries"], [Tag.STORE])
        return VisitData(
            hourly=_frame(visits, ["visits"], [Tag.STORE]),
            coverage=None if coverage_frame.empty else coverage_frame,
            occupancy=None if occupancy_frame.empty else occupancy_frame,
        )

    def daily_totals(self, first_day: date, last_day: date) -> pd.DataFrame:
        where = self._where(None, first_day, last_day)
        series = self.client.query(_visits_per("1d", where))
        return _frame(series, ["visits"], [Tag.STORE])

    def hourly_counts(
        self, count: Count, stores: Sequence[str], first_day: date, last_day: date
    ) -> pd.DataFrame:
        where = self._where(stores, first_day, last_day)
        return _frame(self.client.query(_count_per_hour(count, where)), ["visits"], [Tag.STORE])


class FrameVisitLoader:
    """An in-memory hourly frame (e.g. from ``--from-csv``) behind the loader interface."""

    def __init__(self, hourly: pd.DataFrame) -> None:
        self.hourly = hourly[["store", "time_utc", "visits"]]

    def load(self, stores: Sequence[str] | None, first_day: date, last_day: date) -> VisitData:
        start, end = utc_bounds(first_day, last_day)
        times = self.hourly["time_utc"]
        keep = (times >= start) & (times < end)
        if stores is not None:
            keep &= self.hourly["store"].isin(list(stores))
        return VisitData(hourly=self.hourly[keep].reset_index(drop=True))

    def daily_totals(self, first_day: date, last_day: date) -> pd.DataFrame:
        hourly = self.load(None, first_day, last_day).hourly
        days = hourly["time_utc"].dt.floor("D")
        totals = hourly.groupby([hourly["store"], days])["visits"].sum()
        return totals.reset_index()


def effect_points(report: ImpactReport) -> list[Point]:
    """``policy_effects`` points: one per unit (store, or ``pooled``) and method, at the
    store-local midnight of the change date of the first treated store; the primary method's
    point also carries the visits gained over the after window. A ratio metric's points are
    tagged with the metric (visits' points carry no metric tag, as they always did, so a new
    estimate overwrites the one stored before the tag existed)."""
    points = []
    metric = report.metric if ratio_metric(report.metric) is not None else None
    moment = report.change_utc
    for unit in [report.pooled, *report.stores]:
        total = unit.cumulative
        for estimate in unit.estimates.values():
            gained = None
            if total is not None and estimate.method == unit.primary_method:
                gained = (total.visits, total.ci_low, total.ci_high)
                gained = gained if all(math.isfinite(value) for value in gained) else None
            points.append(
                policy_effect_point(
                    report.policy,
                    unit.store,
                    estimate.method,
                    effect_pct=estimate.effect_pct,
                    ci_low_pct=estimate.ci_low_pct,
                    ci_high_pct=estimate.ci_high_pct,
                    change_utc=moment,
                    visits_gained=gained,
                    metric=metric,
                )
            )
    return points
