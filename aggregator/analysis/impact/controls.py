"""Which stores have enough data, and the automatic choice of control stores.

A store is *usable* in the windows when at least ``STORE_MINIMUM_DAYS`` of the days before and
of the days after the change have visits; it joins a pool (the pooled treated unit, a control
pool) only with ``POOL_MINIMUM_DAYS``, because a pooled day needs every member.

``--controls auto`` considers every store in the data that is not treated, not excluded (e.g.
under another policy inside the windows) and poolable; it ranks them by the correlation of
their log daily visits with the treated pool *before* the change only (so the outcome cannot
influence the choice) and keeps the best ``max_auto_controls`` with a positive correlation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from aggregator.analysis.impact.settings import Windows

STORE_MINIMUM_DAYS = 0.7
POOL_MINIMUM_DAYS = 0.9
MINIMUM_CORRELATION_DAYS = 7
SCREENING_FACTOR = 2
"""``--controls auto`` first ranks every store on cheap UTC-day totals and loads hourly data
only for the best ``SCREENING_FACTOR x max_auto_controls`` of them."""


def window_masks(days: pd.DatetimeIndex, windows: Windows) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks over ``days``: the before window and the after window."""
    change = pd.Timestamp(windows.change_date)
    inside = np.asarray(
        (days >= pd.Timestamp(windows.first_day)) & (days <= pd.Timestamp(windows.last_day))
    )
    after = np.asarray(days >= change)
    return inside & ~after, inside & after


def usable_stores(adjusted: pd.DataFrame, windows: Windows, minimum: float) -> list[str]:
    """Columns of ``adjusted`` (days x stores) with visits on ``minimum`` of each window."""
    values = adjusted.to_numpy(dtype=np.float64)
    present = np.isfinite(values) & (values > 0)
    before, after = window_masks(pd.DatetimeIndex(adjusted.index), windows)
    enough = (present[before].mean(axis=0) >= minimum) & (present[after].mean(axis=0) >= minimum)
    return [str(store) for store, ok in zip(adjusted.columns, enough, strict=True) if ok]


def pooled_sum(adjusted: pd.DataFrame, stores: Sequence[str]) -> np.ndarray:
    """Daily sum over ``stores``; a day missing for any of them is missing (NaN)."""
    total: np.ndarray = adjusted[list(stores)].to_numpy(dtype=np.float64).sum(axis=1)
    return total


def select_controls(
    adjusted: pd.DataFrame,
    treated_pool: np.ndarray,
    candidates: Sequence[str],
    windows: Windows,
    max_controls: int,
) -> list[str]:
    """The poolable candidates most correlated with the treated pool before the change."""
    eligible = [
        store for store in usable_stores(adjusted[list(candidates)], windows, POOL_MINIMUM_DAYS)
    ]
    before, _ = window_masks(pd.DatetimeIndex(adjusted.index), windows)
    with np.errstate(divide="ignore", invalid="ignore"):
        target = np.log(treated_pool[before])
        values = np.log(adjusted[eligible].to_numpy(dtype=np.float64)[before])
    scored: list[tuple[float, str]] = []
    for position, store in enumerate(eligible):
        both = np.isfinite(values[:, position]) & np.isfinite(target)
        if both.sum() < MINIMUM_CORRELATION_DAYS:
            continue
        correlation = float(np.corrcoef(values[both, position], target[both])[0, 1])
        if np.isfinite(correlation) and correlation > 0:
            scored.append((correlation, store))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [store for _, store in scored[:max_controls]]


def screen_candidates(
    daily_totals: pd.DataFrame, treated: Sequence[str], excluded: set[str], keep: int
) -> list[str]:
    """The ``keep`` untreated stores whose UTC-day visits (before the change) correlate best
    with the treated stores' total; a coarse first cut before the hourly load."""
    if daily_totals.empty:
        return []
    table = daily_totals.pivot_table(
        index="time_utc", columns="store", values="visits", aggfunc="sum"
    )
    present = [store for store in treated if store in table.columns]
    if not present:
        return []
    target = table[present].sum(axis=1, min_count=len(present))
    candidates = [str(store) for store in table.columns if store not in excluded]
    pool = table[candidates].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = np.log(pool)
        reference = np.log(target.to_numpy(dtype=np.float64))
    scored: list[tuple[float, str]] = []
    for position, store in enumerate(candidates):
        both = np.isfinite(values[:, position]) & np.isfinite(reference)
        if both.sum() >= MINIMUM_CORRELATION_DAYS:
            correlation = float(np.corrcoef(values[both, position], reference[both])[0, 1])
            if np.isfinite(correlation):
                scored.append((correlation, store))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [store for _, store in scored[:keep]]
