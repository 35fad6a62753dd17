"""The seasonal threshold of the visits alert, on numbers worked by hand."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from aggregator.alert_settings import VisitsLowSettings
from aggregator.alerts.baseline import same_hour_previous_weeks, seasonal_band, visits_observation
from aggregator.alerts.checks import judged_hour_start

SETTINGS = VisitsLowSettings()  # 4 weeks, at least 3, k = 3, usual at least 20


@pytest.mark.parametrize(
    ("history", "median", "spread", "threshold"),
    [
        # median 105, deviations 5,5,15,15 -> MAD 10, spread 14.826 (> sqrt 105), threshold 60.52
        ([100, 110, 90, 120], 105.0, 1.4826 * 10, 105.0 - 3 * 14.826),
        # one bad week (a closure) hardly moves the median or the MAD (deviations 2,2,6,98:
        # MAD 4); 1.4826 * 4 = 5.93 is below the Poisson floor sqrt(98) = 9.90
        ([100, 104, 96, 0], 98.0, math.sqrt(98), 98.0 - 3 * math.sqrt(98)),
        # identical weeks: the spread is the Poisson floor sqrt(median) = 10
        ([100, 100, 100, 100], 100.0, 10.0, 70.0),
        # a missing week (no counts stored) is left out, not taken as 0
        ([100, None, 110, 90], 100.0, 14.826, 100.0 - 3 * 14.826),
    ],
)
def test_band(history: list[int | None], median: float, spread: float, threshold: float) -> None:
    band = seasonal_band(history, SETTINGS)
    assert band is not None
    assert band.median == median
    assert band.spread == pytest.approx(spread)
    assert band.threshold == pytest.approx(threshold)


@pytest.mark.parametrize(
    "history",
    [
        [100, 100, None, None],  # two weeks < minimum 3
        [10, 12, 8, 11],  # usual below 20 visits: a quiet hour is not judged
        [0, 0, 0, 0],
    ],
)
def test_no_band(history: list[int | None]) -> None:
    assert seasonal_band(history, SETTINGS) is None


@pytest.mark.parametrize(
    ("visits", "fire", "clear"),
    [
        (60, True, False),
        (61, False, True),
        (0, True, False),
        (None, False, False),  # no counts stored: the cameras were not counting
        (300, False, True),
    ],
)
def test_visits_observation(visits: int | None, fire: bool, clear: bool) -> None:
    hour = datetime(2026, 3, 2, 10, tzinfo=UTC)
    observation = visits_observation("s", hour, visits, [100, 110, 90, 120], SETTINGS, hour)
    assert (observation.fire, observation.clear) == (fire, clear)
    assert observation.values.get("threshold") == (None if visits is None else 60.52)


def test_without_history_it_neither_fires_nor_clears() -> None:
    hour = datetime(2026, 3, 2, 10, tzinfo=UTC)
    observation = visits_observation("s", hour, 0, [None, None, 5, None], SETTINGS, hour)
    assert (observation.fire, observation.clear) == (False, False)


def test_same_local_hour_across_daylight_saving() -> None:
    """London moved to summer time on 2026-03-29: Monday 10:00 local on 6 April is 09:00
    UTC, the Mondays before the change were 10:00 UTC."""
    windows = same_hour_previous_weeks(
        datetime(2026, 4, 6, 9, tzinfo=UTC), ZoneInfo("Europe/London"), 3
    )
    assert [start.isoformat() for start, _ in windows] == [
        "2026-03-30T09:00:00+00:00",
        "2026-03-23T10:00:00+00:00",
        "2026-03-16T10:00:00+00:00",
    ]
    assert all((end - start).total_seconds() == 3600 for start, end in windows)


@pytest.mark.parametrize(
    ("now", "timezone", "expected"),
    [
        ("2026-03-02T11:02:00", "UTC", "2026-03-02T09:00:00"),  # 11:00 + 180 s not yet
        ("2026-03-02T11:03:00", "UTC", "2026-03-02T10:00:00"),
        ("2026-03-02T11:45:00", "Asia/Kolkata", "2026-03-02T10:30:00"),  # UTC+5:30 hours
    ],
)
def test_judged_hour(now: str, timezone: str, expected: str) -> None:
    moment = datetime.fromisoformat(now).replace(tzinfo=UTC)
    judged = judged_hour_start(moment, timezone, 180)
    assert judged == datetime.fromisoformat(expected).replace(tzinfo=UTC)
