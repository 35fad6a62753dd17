"""Public holidays for a store: its country from its IANA time zone (the tz database's
``zone.tab`` names one country per zone), the dates from the ``holidays`` package."""

from __future__ import annotations

import zoneinfo
from datetime import date
from functools import cache
from pathlib import Path


@cache
def _zone_countries() -> dict[str, str]:
    for root in zoneinfo.TZPATH:
        table = Path(root) / "zone.tab"
        if table.exists():
            countries: dict[str, str] = {}
            for line in table.read_text(encoding="utf-8").splitlines():
                if line and not line.startswith("#"):
                    fields = line.split("\t")
                    countries[fields[2]] = fields[0]
            return countries
    return {}


def country_for_timezone(timezone: str) -> str | None:
    """ISO 3166 country of an IANA zone (``Pacific/Auckland`` -> ``NZ``); None if unknown."""
    return _zone_countries().get(timezone)


@cache
def holiday_dates(
    country: str, subdivision: str | None, first_year: int, last_year: int
) -> dict[date, str] | None:
    """Holidays (date -> name) of a country in the years; None if the package lacks it."""
    import holidays

    try:
        calendar = holidays.country_holidays(
            country, subdiv=subdivision, years=range(first_year, last_year + 1)
        )
    except NotImplementedError:
        return None
    return {day: str(name) for day, name in sorted(calendar.items())}
