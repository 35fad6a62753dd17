"""What to analyse: the treated stores, the change date, the windows and the comparison.

All dates are store-local calendar dates. The analysis windows around a change date E are
``before`` = [E - before_days, E - 1] and ``after`` = [E, E + after_days - 1]. The placebo
check moves the change to an earlier date P (default E - after_days) whose windows end before
E, so it only sees days without the policy. The year-earlier baseline shifts every window back
by whole weeks (364 days a year), so weekdays line up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from aggregator.analysis.impact.metrics import MetricName
from aggregator.config import known_timezone

MINIMUM_WINDOW_DAYS = 7
DAYS_PER_BASELINE_YEAR = 364
_DURATION = re.compile(r"^(\d+)\s*([dw]?)$")


class SettingsError(ValueError):
    """Impact settings that cannot be analysed; the message names the option."""


def parse_days(text: str, option: str) -> int:
    """``28d``, ``4w`` or ``28`` -> days; an error names the option and the bad text."""
    match = _DURATION.match(text.strip().lower())
    if match is None:
        raise SettingsError(f"{option} {text!r} is not a duration like 28d or 4w")
    days = int(match.group(1)) * (7 if match.group(2) == "w" else 1)
    if days < MINIMUM_WINDOW_DAYS:
        raise SettingsError(f"{option} {text!r} is shorter than {MINIMUM_WINDOW_DAYS} days")
    return days


@dataclass(frozen=True)
class Windows:
    """The before/after windows around one change date."""

    change_date: date
    before_days: int
    after_days: int

    @property
    def first_day(self) -> date:
        return self.change_date - timedelta(days=self.before_days)

    @property
    def last_day(self) -> date:
        return self.change_date + timedelta(days=self.after_days - 1)

    def shifted_back(self, days: int) -> Windows:
        return Windows(self.change_date - timedelta(days=days), self.before_days, self.after_days)

    def contains(self, day: date) -> bool:
        return self.first_day <= day <= self.last_day


ControlMode = Literal["auto", "baseline", "stores"]


class ImpactSettings(BaseModel):
    """One impact question. ``control_mode``: ``stores`` compares with ``control_stores``;
    ``auto`` picks untreated stores from the data (falling back to the baseline year when none
    qualifies); ``baseline`` compares with the same windows in ``baseline_year``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    policy: str = "ad hoc"
    metric: MetricName = "visits"
    """What the effect is on: daily visits, or a ratio (see ``metrics``)."""
    stores: Annotated[list[str], Field(min_length=1)]
    effective_date: date
    timezones: dict[str, str] = Field(default_factory=dict)
    """IANA zone per store (treated and controls); stores not listed use ``default_timezone``."""
    default_timezone: str = "UTC"
    before_days: Annotated[int, Field(ge=MINIMUM_WINDOW_DAYS)] = 28
    after_days: Annotated[int, Field(ge=MINIMUM_WINDOW_DAYS)] = 28
    control_mode: ControlMode = "auto"
    control_stores: list[str] = Field(default_factory=list)
    excluded_controls: list[str] = Field(default_factory=list)
    """Stores never used as automatic controls (e.g. under another policy in the window)."""
    max_auto_controls: Annotated[int, Field(ge=1)] = 10
    design: Literal["auto", "did", "synthetic"] = "auto"
    """``synthetic``: read each unit with a synthetic control from the untreated stores;
    ``auto``: also when there are at most 3 treated stores and it fits the before window
    better than the control pool; ``did``: never."""
    store_effective_dates: dict[str, date] = Field(default_factory=dict)
    """Staggered roll-out: a store's own first day where it differs from ``effective_date``
    (which is then the first adoption date)."""
    baseline_year: int | None = None
    """Year of the comparison windows (default: the year before the change)."""
    placebo_date: date | None = None
    country: str | None = None
    """ISO country for holidays (default: from the stores' time zone)."""
    subdivision: str | None = None

    @field_validator("default_timezone")
    @classmethod
    def _known_default(cls, value: str) -> str:
        _check_zone(value, "default_timezone")
        return value

    @field_validator("timezones")
    @classmethod
    def _known_zones(cls, value: dict[str, str]) -> dict[str, str]:
        for store, zone in value.items():
            _check_zone(zone, f"timezones -> {store}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ImpactSettings:
        duplicated = sorted({store for store in self.stores if self.stores.count(store) > 1})
        if duplicated:
            raise ValueError(f"stores listed twice: {', '.join(duplicated)}")
        if self.control_mode == "stores" and not self.control_stores:
            raise ValueError("control_mode 'stores' needs control_stores")
        overlap = sorted(set(self.stores) & set(self.control_stores))
        if overlap:
            raise ValueError(f"stores {', '.join(overlap)} are both treated and controls")
        if self.baseline_year is not None and self.baseline_year >= self.effective_date.year:
            raise ValueError(
                f"baseline_year {self.baseline_year} must be before {self.effective_date.year}"
            )
        unknown = sorted(set(self.store_effective_dates) - set(self.stores))
        if unknown:
            raise ValueError(f"store_effective_dates: {', '.join(unknown)} not among the stores")
        if any(day < self.effective_date for day in self.store_effective_dates.values()):
            raise ValueError("effective_date must be the first of the store_effective_dates")
        if self.placebo_date is not None and self.placebo_date >= self.effective_date:
            raise ValueError(f"placebo_date {self.placebo_date} must be before the change")
        return self

    @property
    def effective_dates(self) -> dict[str, date]:
        """Every treated store's first day under the policy."""
        return {
            store: self.store_effective_dates.get(store, self.effective_date)
            for store in self.stores
        }

    def adoption_groups(self) -> dict[date, list[str]]:
        """Adoption date -> the stores adopting then."""
        groups: dict[date, list[str]] = {}
        for store, adopted in self.effective_dates.items():
            groups.setdefault(adopted, []).append(store)
        return groups

    @property
    def staggered(self) -> bool:
        return len(self.adoption_groups()) > 1

    def timezone(self, store: str) -> str:
        return self.timezones.get(store, self.default_timezone)

    @property
    def windows(self) -> Windows:
        return Windows(self.effective_date, self.before_days, self.after_days)

    @property
    def placebo_windows(self) -> Windows:
        change = self.placebo_date or self.effective_date - timedelta(days=self.after_days)
        return Windows(change, self.before_days, self.after_days)

    @property
    def baseline_shift_days(self) -> int:
        """Days back to ``baseline_year`` (default: the year before)."""
        return self.baseline_shift_for(self.baseline_year or self.effective_date.year - 1)

    def baseline_shift_for(self, year: int) -> int:
        """Days back to the same weekdays in ``year``: 364 a year."""
        return DAYS_PER_BASELINE_YEAR * (self.effective_date.year - year)

    @property
    def first_day(self) -> date:
        """First day any estimate looks at in the change year (placebo windows included)."""
        return min(self.windows.first_day, self.placebo_windows.first_day)

    @property
    def last_day(self) -> date:
        return self.windows.last_day


def _check_zone(value: str, where: str) -> None:
    try:
        known_timezone(value)
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None
