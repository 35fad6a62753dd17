"""Data-quality warnings, each provoked by the defect it describes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pandas as pd
import pytest

from aggregator.analysis.impact.analysis import run_impact
from aggregator.analysis.impact.results import ImpactReport
from aggregator.analysis.impact.settings import ImpactSettings
from aggregator.analysis.impact.source import FrameVisitLoader, VisitData
from aggregator.analysis.impact.synthetic import synthetic_visits

LONDON = "Europe/London"
CHANGE = date(2025, 4, 7)  # windows 2025-02-10 .. 2025-05-04 cross Easter 2025


class _Loader(FrameVisitLoader):
    """Visits plus camera coverage and occupancy rows, filtered like the InfluxDB loader."""

    def __init__(self, data: VisitData) -> None:
        super().__init__(data.hourly)
        self.data = data

    def load(self, stores: Sequence[str] | None, first_day: date, last_day: date) -> VisitData:
        hourly = super().load(stores, first_day, last_day).hourly
        return VisitData(hourly, self.data.coverage, self.data.occupancy)


@pytest.fixture(scope="module")
def hourly() -> pd.DataFrame:
    return synthetic_visits(
        ["north", "south", "east"], first_day=date(2025, 2, 1), days=100, change_date=CHANGE,
        effects={}, seed=5, timezone=LONDON,
    )  # fmt: skip


def _kinds(report: ImpactReport) -> dict[str, set[str | None]]:
    kinds: dict[str, set[str | None]] = {}
    for warning in report.warnings:
        kinds.setdefault(warning.kind, set()).add(warning.store)
    return kinds


def _settings(**overrides: object) -> ImpactSettings:
    values: dict[str, object] = {
        "stores": ["north", "south"], "effective_date": CHANGE, "default_timezone": LONDON,
        "control_mode": "stores", "control_stores": ["east"],
    }  # fmt: skip
    return ImpactSettings.model_validate(values | overrides)


def test_clean_data_only_mentions_the_holidays(hourly: pd.DataFrame) -> None:
    report = run_impact(_settings(), FrameVisitLoader(hourly))
    assert set(_kinds(report)) == {"holiday"}
    national = report.warnings[0].message
    assert "2025-04-18 Good Friday" in national
    assert "Easter Monday" not in national  # a holiday in England and Wales, not all of GB
    england = run_impact(_settings(subdivision="ENG"), FrameVisitLoader(hourly))
    assert "2025-04-21 Easter Monday" in england.warnings[0].message


def test_missing_hours_cameras_offline_and_drift(hourly: pd.DataFrame) -> None:
    local = hourly["time_utc"].dt.tz_convert(LONDON)
    outage = (
        (hourly["store"] == "north")
        & (local.dt.date >= date(2025, 3, 10))
        & (local.dt.date <= date(2025, 3, 12))
    )
    visits = hourly[~outage].reset_index(drop=True)
    coverage = visits.assign(camera="door", seconds=3600.0)[
        ["store", "camera", "time_utc", "seconds"]
    ]
    occupancy = pd.DataFrame(
        {
            "store": ["south", "south", "north"],
            "time_utc": pd.to_datetime(["2025-03-01", "2025-03-02", "2025-03-01"], utc=True),
            "drift": [40, 2, 1],
            "residual": [30, 0, 0],
            "entries": [1000, 1000, 900],
        }
    )
    report = run_impact(_settings(), _Loader(VisitData(visits, coverage, occupancy)))
    kinds = _kinds(report)
    assert kinds["missing_hours"] == {"north"}
    assert kinds["camera_offline"] == {"north"}
    assert kinds["occupancy_drift"] == {"south"}
    offline = next(w for w in report.warnings if w.kind == "camera_offline")
    assert "silent for 72 h in 1 gap(s)" in offline.message
    drift = next(w for w in report.warnings if w.kind == "occupancy_drift")
    assert "1 day(s) (up to 7% of entries)" in drift.message


def test_closed_days_and_stores_without_data(hourly: pd.DataFrame) -> None:
    local = hourly["time_utc"].dt.tz_convert(LONDON)
    closed = (hourly["store"] == "south") & (local.dt.date == date(2025, 4, 20))
    visits = hourly.copy()
    visits.loc[closed, "visits"] = 0
    report = run_impact(_settings(stores=["north", "south", "west"]), FrameVisitLoader(visits))
    kinds = _kinds(report)
    assert kinds["zero_days"] == {"south"}
    assert kinds["excluded_store"] == {"west"}
    west = report.stores[2]
    assert west.store == "west"
    assert west.excluded_reason == "not enough days with visits"
    assert west.to_json()["effect_pct"] is None


def test_unknown_country_is_said(hourly: pd.DataFrame) -> None:
    report = run_impact(_settings(default_timezone="UTC"), FrameVisitLoader(hourly))
    kinds = _kinds(report)
    assert kinds["no_holiday_calendar"] == {"north", "south", "east"}
    assert "holiday" not in kinds
