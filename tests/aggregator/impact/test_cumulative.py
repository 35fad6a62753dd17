"""Visits gained over the after window: the effect's estimate and interval in visits."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from aggregator.analysis.impact.regression import Estimate
from aggregator.analysis.impact.results import CumulativeEffect, PlotSeries, cumulative_path

PLUS_TEN = Estimate.from_log("seasonal", math.log(1.10), 0.02, 2.5, 56)


@pytest.mark.parametrize(
    ("effect", "visits", "low", "high"),
    [
        # 28 days x 1000 visits = 28,000 after; without the change 28,000 / 1.1 (2,545 gained);
        # the interval is log effect +- 2.5 x 0.02 mapped the same way
        (math.log(1.10), 2545.45, 1240.37, 3786.89),
        (math.log(0.90), -3111.11, -4706.21, -1593.80),
        (0.0, 0.0, -1435.59, 1365.58),
    ],
)
def test_total(effect: float, visits: float, low: float, high: float) -> None:
    estimate = Estimate.from_log("seasonal", effect, 0.02, 2.5, 56)
    total = CumulativeEffect.from_estimate(estimate, 1000.0, 28)
    assert total.after_visits == 28000.0
    assert (total.visits, total.ci_low, total.ci_high) == pytest.approx(
        (visits, low, high), abs=0.01
    )
    # the same map as the effect's interval: excludes 0 exactly when the effect does
    assert (total.ci_low > 0 or total.ci_high < 0) == estimate.excludes_zero


def test_path_ends_at_the_total_and_fills_missing_days() -> None:
    days = pd.date_range("2025-03-01", periods=14, freq="D")
    visits = np.full(14, 1000.0)
    visits[10] = np.nan  # a missing after day counts as an average one
    series = PlotSeries(days, visits, visits, visits, visits)
    path_days, gained, low, high = cumulative_path(series, date(2025, 3, 8), PLUS_TEN)
    assert len(path_days) == 7
    total = CumulativeEffect.from_estimate(PLUS_TEN, 1000.0, 7)
    assert (gained[-1], low[-1], high[-1]) == pytest.approx(
        (total.visits, total.ci_low, total.ci_high)
    )
    assert np.all(np.diff(gained) > 0)
