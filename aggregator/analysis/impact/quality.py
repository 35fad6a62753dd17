"""Data-quality warnings: things that make an effect estimate less trustworthy.

* missing hours: hours without counts (filled from the weekday x hour profile), when they hold
  at least ``MISSING_SHARE_WARNING`` of a store's expected visits;
* cameras offline: a camera silent for ``OFFLINE_GAP_HOURS`` or more in a row while its store
  was otherwise counted;
* occupancy drift: days on which entries and exits disagree by more than ``DRIFT_SHARE_WARNING``
  of the day's entries (``store_occupancy.drift`` + ``reset_residual``): a miscounting line;
* holidays: public holidays inside the windows (modelled, but worth knowing);
* zero days: days with no visits at all (closed?), left out of the log-linear models.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import numpy as np
import pandas as pd

from aggregator.analysis.impact.results import QualityWarning

MISSING_SHARE_WARNING = 0.01
OFFLINE_GAP_HOURS = 3
DRIFT_SHARE_WARNING = 0.05


def missing_hour_warnings(hours: pd.DataFrame, stores: Sequence[str]) -> list[QualityWarning]:
    """``hours`` is ``DailyVisits.hours`` (per store and segment)."""
    warnings = []
    for store in stores:
        if store not in hours.index.get_level_values("store"):
            continue
        rows = hours.loc[store]
        missing = int((rows["expected_hours"] - rows["observed_hours"]).clip(lower=0).sum())
        share = float(
            (rows["missing_share"] * rows["expected_hours"]).sum() / rows["expected_hours"].sum()
        )
        if share >= MISSING_SHARE_WARNING:
            warnings.append(
                QualityWarning(
                    "missing_hours",
                    store,
                    f"{missing} of {int(rows['expected_hours'].sum())} hours without counts "
                    f"({share:.1%} of expected visits, filled from the weekday x hour profile "
                    "or left out as missing days)",
                )
            )
    return warnings


def camera_offline_warnings(
    coverage: pd.DataFrame | None, stores: Sequence[str]
) -> list[QualityWarning]:
    """Gaps of a camera inside the span its store was counted (any camera) in the data."""
    if coverage is None or coverage.empty:
        return []
    relevant = coverage[coverage["store"].isin(list(stores)) & (coverage["seconds"] > 0)]
    times = relevant["time_utc"].dt.tz_convert("UTC").dt.tz_localize(None)
    hours = times.to_numpy(dtype="datetime64[h]").astype(np.int64)
    store_of_row = relevant["store"].to_numpy(dtype=object)
    camera_of_row = relevant["camera"].to_numpy(dtype=object)
    warnings = []
    for store in sorted(set(store_of_row)):
        in_store = store_of_row == store
        first = int(hours[in_store].min())
        span = int(hours[in_store].max()) - first + 1
        for camera in sorted(set(camera_of_row[in_store])):
            seen = np.zeros(span, dtype=bool)
            seen[hours[in_store & (camera_of_row == camera)] - first] = True
            gaps = [gap for gap in _runs(~seen) if gap[1] >= OFFLINE_GAP_HOURS]
            if gaps:
                start, length = max(gaps, key=lambda gap: gap[1])
                began = np.datetime64(first + start, "h")
                warnings.append(
                    QualityWarning(
                        "camera_offline",
                        str(store),
                        f"camera {camera!r} silent for {sum(gap[1] for gap in gaps)} h in "
                        f"{len(gaps)} gap(s); longest {length} h from {began} UTC",
                    )
                )
    return warnings


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(start, length) of each run of True."""
    padded = np.concatenate([[False], flags, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return [
        (int(start), int(stop - start)) for start, stop in zip(edges[::2], edges[1::2], strict=True)
    ]


def drift_warnings(occupancy: pd.DataFrame | None, stores: Sequence[str]) -> list[QualityWarning]:
    if occupancy is None or occupancy.empty:
        return []
    warnings = []
    for store, rows in occupancy[occupancy["store"].isin(list(stores))].groupby("store"):
        entries = rows["entries"].astype(float).replace(0.0, np.nan)
        imbalance = rows["drift"].fillna(0).astype(float) + rows["residual"].fillna(0).astype(float)
        share = (imbalance / entries).dropna()
        bad = share[share > DRIFT_SHARE_WARNING]
        if len(bad):
            warnings.append(
                QualityWarning(
                    "occupancy_drift",
                    str(store),
                    f"entries and exits disagree on {len(bad)} day(s) (up to {bad.max():.0%} "
                    "of entries): an entrance line may miscount",
                )
            )
    return warnings


def holiday_warnings(
    holidays: Mapping[date, str], ranges: Sequence[tuple[str, date, date]]
) -> list[QualityWarning]:
    """One warning per labelled date range that contains public holidays."""
    warnings = []
    for label, first, last in ranges:
        inside = [f"{day} {name}" for day, name in sorted(holidays.items()) if first <= day <= last]
        if inside:
            warnings.append(
                QualityWarning(
                    "holiday",
                    None,
                    f"{label} ({first} .. {last}) crosses holidays: {'; '.join(inside)} "
                    "(modelled by a holiday regressor)",
                )
            )
    return warnings


def zero_day_warnings(
    adjusted: pd.DataFrame, stores: Sequence[str], days: pd.DatetimeIndex
) -> list[QualityWarning]:
    warnings = []
    for store in stores:
        if store not in adjusted.columns:
            continue
        values = adjusted[store].reindex(days)
        zero = values[values == 0]
        if len(zero):
            listed = ", ".join(f"{day:%Y-%m-%d}" for day in zero.index[:5])
            warnings.append(
                QualityWarning(
                    "zero_days",
                    store,
                    f"{len(zero)} day(s) with no visits (closed?) left out: {listed}",
                )
            )
    return warnings
