"""Hourly visits -> store-local daily visits, with missing hours filled in from the store's
weekday x hour profile.

An hour is *observed* when each of the store's cameras covered at least half of it
(``camera_intervals.interval_seconds``) or, for sources without cameras, when it has a row. For
each store and segment (a block of days with one regime: before the change, after it, the
baseline year's before and after), the profile ``share[weekday, hour]`` is the mean visits of
that weekday and local hour divided by the weekday's total (a cell never observed borrows the
hour's mean over the other weekdays). A day's *exposure* is the sum of the shares of its
observed hours: the fraction of that day's expected visits that was counted. Daily visits are
``observed visits / exposure``; a day with exposure below ``MINIMUM_EXPOSURE`` is missing. With
complete data the exposure is 1 and nothing is imputed.

The work is done with integer keys and ``np.bincount`` (no pandas group-by): a year of hourly
data for a hundred stores takes a few tens of milliseconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from aggregator.analysis.impact.source import VisitData

MINIMUM_EXPOSURE = 0.5
COVERED_FRACTION = 0.5
SECONDS_PER_HOUR = 3600.0
_EPOCH_WEEKDAY = 3
"""1970-01-01 was a Thursday (Monday is 0)."""


@dataclass(frozen=True)
class Segment:
    label: str
    first_day: date
    last_day: date


@dataclass(frozen=True)
class DailyVisits:
    """``adjusted``: daily visits (index: local day as a naive Timestamp; one column per store;
    NaN where missing). ``hours``: per store and segment label, ``observed_hours``,
    ``expected_hours`` and ``missing_share`` (share of expected visits not counted)."""

    adjusted: pd.DataFrame
    hours: pd.DataFrame


def observed_hours(data: VisitData) -> pd.DataFrame:
    """``store, time_utc, visits, observed`` for every store-hour with a count or coverage.

    With camera coverage, an hour is observed when *every* camera seen at the store in the
    loaded data covered at least ``COVERED_FRACTION`` of it: one silent camera of two means
    the entrances it watches went uncounted."""
    hourly = data.hourly[["store", "time_utc", "visits"]]
    if data.coverage is None or data.coverage.empty:
        return hourly.assign(observed=True)
    coverage = data.coverage
    cameras = coverage.groupby("store")["camera"].nunique()
    per_camera = coverage.groupby(["store", "camera", "time_utc"], as_index=False)["seconds"].sum()
    per_camera = per_camera[per_camera["seconds"] >= COVERED_FRACTION * SECONDS_PER_HOUR]
    covering = per_camera.groupby(["store", "time_utc"]).size().rename("covering").reset_index()
    covering["observed"] = covering["covering"] >= covering["store"].map(cameras)
    merged = hourly.merge(covering[["store", "time_utc", "observed"]], how="outer")
    merged["observed"] = merged["observed"].astype("boolean").fillna(False).astype(bool)
    merged.loc[~merged["store"].isin(cameras.index), "observed"] = True
    merged["visits"] = merged["visits"].fillna(0.0)
    return merged


def _local_hours(times: pd.Series, store_codes: np.ndarray, zones: Sequence[str]) -> np.ndarray:
    """Store-local wall-clock hours since 1970-01-01T00:00 for each row."""
    utc = times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[h]")
    local = np.empty(len(utc), dtype=np.int64)
    zone_of_row = np.asarray(zones, dtype=object)[store_codes]
    for zone in sorted(set(zones)):
        rows = np.flatnonzero(zone_of_row == zone)
        shifted = pd.DatetimeIndex(utc[rows]).tz_localize("UTC").tz_convert(zone).tz_localize(None)
        local[rows] = shifted.to_numpy(dtype="datetime64[h]").astype(np.int64)
    return local


def _day_number(day: date) -> int:
    return int(np.datetime64(day, "D").astype(np.int64))


def _segment_of(days: np.ndarray, segments: Sequence[Segment]) -> np.ndarray:
    segment = np.full(len(days), -1, dtype=np.int64)
    for position, part in enumerate(segments):
        inside = (days >= _day_number(part.first_day)) & (days <= _day_number(part.last_day))
        segment[inside] = position
    return segment


def _shares(cell: np.ndarray, visits: np.ndarray, groups: int) -> np.ndarray:
    """share per (store x segment, weekday, hour) from observed rows' cell keys."""
    size = groups * 7 * 24
    totals = np.bincount(cell, weights=visits, minlength=size).reshape(groups, 7, 24)
    counts = np.bincount(cell, minlength=size).reshape(groups, 7, 24)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = totals / counts
        hour_means = np.nansum(totals, axis=1) / counts.sum(axis=1)
    means = np.where(counts > 0, means, hour_means[:, None, :])
    means = np.nan_to_num(means, nan=0.0)
    weekday_totals = means.sum(axis=2, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares: np.ndarray = np.where(weekday_totals > 0, means / weekday_totals, 0.0)
    return shares.reshape(-1)


def daily_visits(
    data: VisitData, timezones: Mapping[str, str], segments: Sequence[Segment]
) -> DailyVisits:
    """Daily visits per store for the days inside ``segments``; see the module docstring."""
    hours = observed_hours(data)
    store_codes, store_names = pd.factorize(hours["store"], sort=True)
    names = [str(name) for name in store_names]
    local = _local_hours(hours["time_utc"], store_codes, [timezones.get(n, "UTC") for n in names])
    day = local // 24
    segment = _segment_of(day, segments)
    keep = segment >= 0
    store, day, segment, local = store_codes[keep], day[keep], segment[keep], local[keep]
    visits = hours["visits"].to_numpy(dtype=np.float64)[keep]
    observed = hours["observed"].to_numpy(dtype=bool)[keep]
    group = store * len(segments) + segment
    cell = (group * 7 + (day + _EPOCH_WEEKDAY) % 7) * 24 + local % 24
    shares = _shares(cell[observed], visits[observed], len(names) * len(segments))
    first_day = min(_day_number(part.first_day) for part in segments)
    last_day = max(_day_number(part.last_day) for part in segments)
    span = last_day - first_day + 1
    slot = store * span + (day - first_day)
    size = len(names) * span
    counted = np.bincount(slot[observed], weights=visits[observed], minlength=size)
    exposure = np.bincount(slot[observed], weights=shares[cell[observed]], minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        adjusted = np.where(exposure >= MINIMUM_EXPOSURE, counted / exposure, np.nan)
    index = pd.DatetimeIndex(np.arange(first_day, last_day + 1).astype("datetime64[D]"))
    frame = pd.DataFrame(adjusted.reshape(len(names), span).T, index=index, columns=names)
    summary = _hour_summary(
        names, segments, group[observed], exposure.reshape(len(names), span), first_day
    )
    return DailyVisits(adjusted=frame, hours=summary)


def _hour_summary(
    names: Sequence[str],
    segments: Sequence[Segment],
    observed_groups: np.ndarray,
    exposure: np.ndarray,
    first_day: int,
) -> pd.DataFrame:
    counted = np.bincount(observed_groups, minlength=len(names) * len(segments))
    rows = []
    for store_position, store in enumerate(names):
        for segment_position, part in enumerate(segments):
            start = _day_number(part.first_day) - first_day
            stop = _day_number(part.last_day) - first_day + 1
            days = stop - start
            share = 1.0 - float(exposure[store_position, start:stop].sum()) / days
            rows.append(
                {
                    "store": store,
                    "segment": part.label,
                    "observed_hours": int(
                        counted[store_position * len(segments) + segment_position]
                    ),
                    "expected_hours": days * 24,
                    "missing_share": share,
                }
            )
    columns = ["store", "segment", "observed_hours", "expected_hours", "missing_share"]
    return pd.DataFrame(rows, columns=columns).set_index(["store", "segment"])


def daily_sums(
    hourly: pd.DataFrame, timezones: Mapping[str, str], first_day: date, last_day: date
) -> pd.DataFrame:
    """Plain sums per store-local day of an hourly count (``store, time_utc, visits``) whose
    source lists only the hours with something, like a till system's export: an hour without
    a row counts as none, and a day without any row is missing (NaN). Index and columns as
    ``DailyVisits.adjusted``, for the days ``first_day`` .. ``last_day``."""
    store_codes, store_names = pd.factorize(hourly["store"], sort=True)
    names = [str(name) for name in store_names]
    zones = [timezones.get(name, "UTC") for name in names]
    day = _local_hours(hourly["time_utc"], store_codes, zones) // 24
    first, last = _day_number(first_day), _day_number(last_day)
    inside = (day >= first) & (day <= last)
    span = last - first + 1
    slot = store_codes[inside] * span + (day[inside] - first)
    size = len(names) * span
    counts = hourly["visits"].to_numpy(dtype=np.float64)[inside]
    sums = np.bincount(slot, weights=counts, minlength=size)
    rows = np.bincount(slot, minlength=size)
    values = np.where(rows > 0, sums, np.nan).reshape(len(names), span).T
    index = pd.DatetimeIndex(np.arange(first, last + 1).astype("datetime64[D]"))
    return pd.DataFrame(values, index=index, columns=names)
