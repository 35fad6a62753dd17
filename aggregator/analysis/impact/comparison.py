"""The comparison a difference-in-differences needs: control stores, or the same windows in an
earlier year (weekday-aligned: 364 days a year back), and the holiday regressors of both."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from aggregator.analysis.impact.baseline import BaselineChoice
from aggregator.analysis.impact.calendar import country_for_timezone, holiday_dates
from aggregator.analysis.impact.panel import DailyPanel
from aggregator.analysis.impact.results import QualityWarning


@dataclass(frozen=True)
class Comparison:
    """``kind``: ``control_stores``, ``baseline_year`` or ``none``. For the baseline year,
    ``panel`` and ``holidays`` hold the earlier year's daily values moved forward by
    ``shift_days``, so they line up with the change year's days."""

    kind: str
    stores: list[str] = field(default_factory=list)
    baseline_year: int | None = None
    shift_days: int = 0
    panel: DailyPanel | None = None
    holidays: pd.DataFrame | None = None
    choice: BaselineChoice | None = None
    """For the baseline year: how it was chosen and the years looked at."""

    def describe(self) -> str:
        if self.kind == "control_stores":
            return f"control stores {', '.join(self.stores)}"
        if self.kind == "baseline_year":
            why = f"; {self.choice.describe(self.baseline_year or 0)}" if self.choice else ""
            return f"same weekdays in {self.baseline_year} ({self.shift_days} days earlier{why})"
        return "no comparison"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "stores": self.stores,
            "baseline_year": self.baseline_year,
            "shift_days": self.shift_days,
            "description": self.describe(),
            "baseline_choice": self.choice.to_json() if self.choice else None,
        }


def moved_forward(frame: pd.DataFrame, days: int) -> pd.DataFrame:
    moved = frame.copy()
    moved.index = moved.index + pd.Timedelta(days=days)
    return moved


@dataclass
class HolidayTable:
    """Per store and day, 1.0 on a public holiday of the store's country; names for reports."""

    indicators: pd.DataFrame
    names: dict[date, str]
    warnings: list[QualityWarning]


def holiday_table(
    stores: Sequence[str],
    timezones: Mapping[str, str],
    country: str | None,
    subdivision: str | None,
    days: pd.DatetimeIndex,
) -> HolidayTable:
    indicators = pd.DataFrame(0.0, index=days, columns=list(stores))
    names: dict[date, str] = {}
    warnings: list[QualityWarning] = []
    if len(days) == 0:
        return HolidayTable(indicators, names, warnings)
    first_year, last_year = days[0].year, days[-1].year
    for store in stores:
        zone = timezones.get(store, "UTC")
        code = country or country_for_timezone(zone)
        calendar = holiday_dates(code, subdivision, first_year, last_year) if code else None
        if calendar is None:
            where = f"country {code}" + (f"/{subdivision}" if subdivision else "")
            where = where if code else f"time zone {zone}"
            warnings.append(
                QualityWarning(
                    "no_holiday_calendar",
                    store,
                    f"no holiday calendar for {where}; holidays not modelled (use --country)",
                )
            )
            continue
        marks = days.normalize().isin([pd.Timestamp(day) for day in calendar])
        indicators[store] = np.asarray(marks, dtype=np.float64)
        names.update(calendar)
    return HolidayTable(indicators, names, warnings)
