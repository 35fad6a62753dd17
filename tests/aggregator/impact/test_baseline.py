"""Choosing the baseline year: the nearest year whose own windows did not move."""

from __future__ import annotations

import math

import pytest

from aggregator.analysis.impact.baseline import BaselineCandidate, BaselineChoice, pick

NAN = math.nan


@pytest.mark.parametrize(
    ("changes", "year", "reason"),
    [
        ([-0.05], 2020, "default"),
        ([-0.40, -0.01], 2019, "nearest_undisturbed"),
        ([0.30, NAN, 0.10], 2018, "nearest_undisturbed"),
        ([-0.40, 0.30], 2019, "least_disturbed"),
        ([0.25], 2020, "default"),  # exactly the threshold is not disturbed
    ],
)
def test_pick(changes: list[float], year: int, reason: str) -> None:
    candidates = [BaselineCandidate(2020 - back, change) for back, change in enumerate(changes)]
    picked = pick(candidates)
    assert picked is not None
    assert (picked[0].year, picked[1]) == (year, reason)


def test_no_year_with_data() -> None:
    assert pick([BaselineCandidate(2020, NAN)]) is None


def test_description_names_the_skipped_years() -> None:
    choice = BaselineChoice(
        "nearest_undisturbed", (BaselineCandidate(2020, -0.397), BaselineCandidate(2019, -0.013))
    )
    assert choice.describe(2019) == "nearest undisturbed year (skipped: 2020 changed by -39.7%)"
    assert choice.to_json()["candidates"][0] == {
        "year": 2020,
        "change_pct": -39.7,
        "disturbed": True,
    }
