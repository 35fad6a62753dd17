"""Hourly -> daily visits: store-local days, DST, and missing hours filled from the weekday x
hour profile."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from aggregator.analysis.impact.daily import Segment, daily_visits
from aggregator.analysis.impact.source import VisitData
from aggregator.analysis.impact.synthetic import synthetic_visits

LONDON = "Europe/London"
SEGMENTS = [
    Segment("before", date(2025, 3, 3), date(2025, 3, 30)),
    Segment("after", date(2025, 3, 31), date(2025, 4, 27)),
]


@pytest.fixture(scope="module")
def hourly() -> pd.DataFrame:
    return synthetic_visits(
        ["north", "south"], first_day=date(2025, 3, 1), days=60, change_date=date(2025, 3, 31),
        effects={}, seed=11, timezone=LONDON,
    )  # fmt: skip


def _local_totals(hourly: pd.DataFrame, store: str) -> pd.Series:
    rows = hourly[hourly["store"] == store]
    days = rows["time_utc"].dt.tz_convert(LONDON).dt.tz_localize(None).dt.normalize()
    return rows.groupby(days.to_numpy())["visits"].sum().astype(float)


def test_complete_data_gives_local_day_totals(hourly: pd.DataFrame) -> None:
    daily = daily_visits(VisitData(hourly), {"north": LONDON, "south": LONDON}, SEGMENTS)
    totals = _local_totals(hourly, "north").reindex(daily.adjusted.index)
    assert daily.adjusted.index[0] == pd.Timestamp("2025-03-03")
    assert daily.adjusted.index[-1] == pd.Timestamp("2025-04-27")
    np.testing.assert_allclose(daily.adjusted["north"].to_numpy(), totals.to_numpy(), rtol=1e-12)
    # 2025-03-30 has 23 local hours and is still one whole day
    assert daily.hours.loc[("north", "before"), "missing_share"] == pytest.approx(0.0, abs=1e-12)


def test_missing_hours_are_filled_from_the_profile(hourly: pd.DataFrame) -> None:
    rng = np.random.default_rng(2)
    holey = hourly[rng.random(len(hourly)) > 0.15].reset_index(drop=True)
    complete = daily_visits(VisitData(hourly), {}, SEGMENTS).adjusted["south"]
    filled = daily_visits(VisitData(holey), {}, SEGMENTS).adjusted["south"]
    hours = daily_visits(VisitData(holey), {}, SEGMENTS).hours
    observed = hours["observed_hours"].to_dict()[("south", "after")]
    missing_share = hours["missing_share"].to_dict()[("south", "after")]
    relative = (filled / complete - 1).dropna()
    assert len(relative) == 56
    assert float(relative.abs().mean()) < 0.03  # counting only what is left would be ~-15%
    assert observed < 0.9 * 28 * 24
    assert missing_share == pytest.approx(0.15, abs=0.03)


def test_a_day_with_less_than_half_its_visits_counted_is_missing(hourly: pd.DataFrame) -> None:
    local = hourly["time_utc"].dt.tz_convert(LONDON)
    noon_gap = (local.dt.date == date(2025, 4, 8)) & (local.dt.hour.between(9, 20))
    daily = daily_visits(VisitData(hourly[~noon_gap]), {"north": LONDON}, SEGMENTS).adjusted
    north = daily["north"].to_dict()
    assert np.isnan(north[pd.Timestamp("2025-04-08")])
    assert np.isfinite(north[pd.Timestamp("2025-04-09")])


def test_camera_coverage_decides_which_hours_count(hourly: pd.DataFrame) -> None:
    north = hourly[hourly["store"] == "north"]
    coverage = pd.concat(
        [
            north.assign(camera=camera, seconds=3600.0)[["store", "camera", "time_utc", "seconds"]]
            for camera in ("door", "side")
        ]
    )
    # the side camera was off for the middle of 2025-04-10: its door-only counts are partial
    local = coverage["time_utc"].dt.tz_convert(LONDON)
    gap = (
        (coverage["camera"] == "side")
        & (local.dt.date == date(2025, 4, 10))
        & local.dt.hour.between(12, 14)
    )
    data = VisitData(north, coverage=coverage[~gap].reset_index(drop=True))
    with_gap = daily_visits(data, {"north": LONDON}, SEGMENTS).adjusted["north"]
    complete = daily_visits(VisitData(north), {"north": LONDON}, SEGMENTS).adjusted["north"]
    day = pd.Timestamp("2025-04-10")
    assert with_gap[day] != complete[day]  # three hours imputed instead of counted
    assert with_gap[day] == pytest.approx(complete[day], rel=0.08)
    assert with_gap.drop(day).equals(complete.drop(day))
