"""A lockdown whose date coincides with a seasonal fall that happens every year (issue 17): the
comparison with the same weeks a year earlier must take the fall out. The naive before/after
change (about -90% here) and an estimator that ignores its baseline both land in any range
wide enough for real lockdown data; this constructed case separates them by 10 points."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from aggregator.analysis.impact.analysis import run_impact
from aggregator.analysis.impact.estimators import DIFFERENCE_IN_DIFFERENCES
from aggregator.analysis.impact.settings import ImpactSettings
from aggregator.analysis.impact.source import FrameVisitLoader
from aggregator.analysis.impact.synthetic import NoiseSettings, synthetic_visits

CHANGE = date(2025, 3, 3)
LONDON = "Europe/London"
STORES = [f"store-{number}" for number in range(6)]
LOCKDOWN = -0.80
SEASONAL_FALL = 0.5
"""Every year from the same weekday near ``CHANGE``, visits halve (e.g. a season's end)."""


def visits_with_a_yearly_fall(settings: ImpactSettings) -> pd.DataFrame:
    shift = settings.baseline_shift_days
    first_day = settings.first_day - timedelta(days=shift + 7)
    days = (settings.last_day - first_day).days + 8
    hourly = synthetic_visits(
        STORES,
        first_day=first_day,
        days=days,
        change_date=CHANGE,
        effects=dict.fromkeys(STORES, LOCKDOWN),
        seed=5,
        timezone=LONDON,
        noise=NoiseSettings(store_sd=0.05, common_sd=0.02, autocorrelation=0.3),
    )
    local_day = hourly["time_utc"].dt.tz_convert(LONDON).dt.date
    for fall_start in (CHANGE, CHANGE - timedelta(days=shift)):
        falling = (local_day >= fall_start) & (local_day < fall_start + timedelta(days=60))
        hourly.loc[falling, "visits"] = np.round(hourly.loc[falling, "visits"] * SEASONAL_FALL)
    return hourly


def test_lockdown_against_the_baseline_year_is_not_the_naive_drop() -> None:
    settings = ImpactSettings(
        stores=STORES,
        effective_date=CHANGE,
        default_timezone=LONDON,
        control_mode="baseline",
        baseline_year=2024,
    )
    report = run_impact(settings, FrameVisitLoader(visits_with_a_yearly_fall(settings)))
    pooled = report.pooled
    assert pooled.primary_method == DIFFERENCE_IN_DIFFERENCES
    naive = pooled.visits_per_day_after / pooled.visits_per_day_before * 100 - 100
    assert naive == pytest.approx(-90.0, abs=1.5)  # lockdown and the yearly fall together
    estimate = pooled.estimates[DIFFERENCE_IN_DIFFERENCES]
    print(f"FIGURE lockdown vs baseline year: {estimate.effect_pct:+.1f}%, naive {naive:+.1f}%")
    assert estimate.effect_pct == pytest.approx(LOCKDOWN * 100, abs=2.0)
    assert estimate.ci_low_pct <= LOCKDOWN * 100 <= estimate.ci_high_pct
    assert not estimate.ci_low_pct <= naive <= estimate.ci_high_pct, "the naive drop is excluded"
    for store in report.stores:
        assert store.estimates[DIFFERENCE_IN_DIFFERENCES].effect_pct == pytest.approx(-80, abs=4)
