"""Which earlier year to compare with when there are no control stores.

The default comparison is the same windows one year earlier (364 days, so weekdays line up).
That year may have had its own event inside its windows (Auckland's August 2020 lockdown
falls in the "same weeks last year" of the August 2021 one); its own after/before change then
enters the difference-in-differences as if it were the policy's. So when the year is not named
(``baseline_year``), candidates are tried from the nearest year back: a year whose treated
stores' summed visits changed by more than ``DISTURBED_CHANGE`` between its own before and
after windows is *disturbed* and skipped; the first undisturbed year is used. A year without
data ends the search. When every year with data is disturbed, the least disturbed is used and
the report keeps its ``comparison_changed`` warning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from aggregator.analysis.impact.controls import window_masks
from aggregator.analysis.impact.settings import Windows

DISTURBED_CHANGE = 0.25
"""A baseline year whose own windows changed by more than this had its own event."""
MAXIMUM_YEARS_BACK = 5


def window_change(series: np.ndarray, days: pd.DatetimeIndex, windows: Windows) -> float:
    """Relative change of mean daily visits, after window over before window (NaN if unknown).
    Missing days are skipped."""
    before, after = window_masks(days, windows)
    with np.errstate(invalid="ignore"):
        means = [
            float(np.nanmean(series[mask])) if mask.any() else math.nan for mask in (before, after)
        ]
    if not all(math.isfinite(mean) for mean in means) or means[0] <= 0:
        return math.nan
    return means[1] / means[0] - 1


def is_disturbed(change: float) -> bool:
    return math.isfinite(change) and abs(change) > DISTURBED_CHANGE


@dataclass(frozen=True)
class BaselineCandidate:
    """One earlier year looked at: its windows' own change (NaN: no data for the stores)."""

    year: int
    change: float

    @property
    def disturbed(self) -> bool:
        return is_disturbed(self.change)

    def to_json(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "change_pct": None if not math.isfinite(self.change) else round(self.change * 100, 2),
            "disturbed": self.disturbed,
        }


@dataclass(frozen=True)
class BaselineChoice:
    """How the baseline year was chosen: ``requested`` (``--baseline-year``), ``default`` (the
    year before, undisturbed), ``nearest_undisturbed`` or ``least_disturbed``."""

    reason: str
    candidates: tuple[BaselineCandidate, ...]

    def describe(self, chosen: int) -> str:
        skipped = [
            f"{candidate.year} changed by {candidate.change:+.1%}"
            for candidate in self.candidates
            if candidate.disturbed and candidate.year != chosen
        ]
        if self.reason == "requested":
            return "requested with --baseline-year"
        if self.reason == "default":
            return "the year before"
        text = "; ".join(skipped)
        if self.reason == "nearest_undisturbed":
            return f"nearest undisturbed year (skipped: {text})"
        return (
            "least disturbed year with data (every year moved by more than "
            f"{DISTURBED_CHANGE:.0%}: {text})"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "candidates": [candidate.to_json() for candidate in self.candidates],
        }


def pick(candidates: list[BaselineCandidate]) -> tuple[BaselineCandidate, str] | None:
    """The nearest undisturbed candidate (with data), else the least disturbed one."""
    with_data = [candidate for candidate in candidates if math.isfinite(candidate.change)]
    if not with_data:
        return None
    for candidate in with_data:
        if not candidate.disturbed:
            reason = "default" if candidate is candidates[0] else "nearest_undisturbed"
            return candidate, reason
    return min(with_data, key=lambda candidate: abs(candidate.change)), "least_disturbed"
