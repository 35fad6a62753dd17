"""Synthetic store visits with a known effect, for validating the estimators and for the
benchmark.

Hourly visits are Poisson with mean
``base_daily_visits x profile[weekday, hour] x exp(store_noise + common_noise) x (1 + effect)``
(the last factor from the change date on), where ``profile`` is a retail weekday x hour shape
(closed at night, lunchtime and after-work peaks, busy Saturdays, quiet Sundays) whose rows
sum to the weekday's share of the week, and the noises are day-level AR(1) processes in logs:
one per store and one shared by all stores (weather, paydays), so control stores carry
information. Weekdays and hours are store-local, so DST days are handled like real data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

WEEKDAY_LEVELS = np.array([0.9, 0.85, 0.9, 1.0, 1.15, 1.45, 0.75])
"""Monday .. Sunday relative visit levels."""


@dataclass(frozen=True)
class NoiseSettings:
    store_sd: float = 0.06
    """Standard deviation of a store's own day-level log noise."""
    common_sd: float = 0.05
    """Standard deviation of the day-level log noise shared by all stores."""
    autocorrelation: float = 0.3
    """AR(1) coefficient of both noises, day to day."""


def hourly_profile() -> np.ndarray:
    """7 x 24 array: the share of a week's visits in each weekday and local hour."""
    hours = np.arange(24)
    shape = 0.6 * np.exp(-0.5 * ((hours - 12.5) / 1.6) ** 2) + 0.8 * np.exp(
        -0.5 * ((hours - 17.0) / 2.2) ** 2
    )
    shape = np.where((hours >= 8) & (hours <= 21), shape + 0.15, 0.0)
    weekend = np.where((hours >= 10) & (hours <= 18), 1.0, 0.3) * shape
    rows = np.array([weekend if weekday >= 5 else shape for weekday in range(7)])
    rows = rows / rows.sum(axis=1, keepdims=True)
    profile: np.ndarray = rows * (WEEKDAY_LEVELS / WEEKDAY_LEVELS.sum())[:, None]
    return profile


def _ar1(rng: np.random.Generator, shape: tuple[int, int], sd: float, rho: float) -> np.ndarray:
    """Stationary AR(1) along axis 1 with marginal standard deviation ``sd``."""
    innovations = rng.normal(0.0, sd * np.sqrt(1.0 - rho**2), size=shape)
    values = np.empty(shape)
    values[:, 0] = rng.normal(0.0, sd, size=shape[0])
    for day in range(1, shape[1]):
        values[:, day] = rho * values[:, day - 1] + innovations[:, day]
    return values


def daily_log_noise(
    rng: np.random.Generator, stores: int, days: int, noise: NoiseSettings
) -> np.ndarray:
    """stores x days log multipliers: own AR(1) noise plus a common AR(1) noise."""
    own = _ar1(rng, (stores, days), noise.store_sd, noise.autocorrelation)
    common = _ar1(rng, (1, days), noise.common_sd, noise.autocorrelation)
    result: np.ndarray = own + common
    return result


def synthetic_visits(
    stores: Sequence[str],
    *,
    first_day: date,
    days: int,
    change_date: date,
    effects: Mapping[str, float],
    seed: int,
    timezone: str = "Europe/London",
    noise: NoiseSettings | None = None,
    base_visits: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """An hourly visit frame (``store, time_utc, visits, interval_seconds``) for ``days``
    local days from ``first_day``; ``effects`` maps treated stores to their relative effect
    (0.10 for +10%). Base levels are 600 .. 3000 visits a day (drawn, or ``base_visits``:
    the same stores in another draw of the noise)."""
    rng = np.random.default_rng(seed)
    noise = noise or NoiseSettings()
    start = pd.Timestamp(first_day, tz=timezone).tz_convert("UTC")
    end = pd.Timestamp(first_day + timedelta(days=days), tz=timezone).tz_convert("UTC")
    utc = pd.date_range(start, end, freq="h", inclusive="left")
    local = utc.tz_convert(timezone).tz_localize(None)
    day_index = np.asarray((local.normalize() - pd.Timestamp(first_day)).days)
    shares = hourly_profile()[np.asarray(local.day_of_week), np.asarray(local.hour)] * 7
    log_noise = daily_log_noise(rng, len(stores), days, noise)
    after = day_index >= (change_date - first_day).days
    frames = []
    for position, store in enumerate(stores):
        base = rng.uniform(600.0, 3000.0)
        if base_visits is not None:
            base = base_visits[store]
        effect = np.where(after, 1.0 + effects.get(store, 0.0), 1.0)
        mean = base * shares * np.exp(log_noise[position, day_index]) * effect
        frames.append(
            pd.DataFrame(
                {
                    "store": store,
                    "time_utc": utc,
                    "visits": rng.poisson(mean).astype(np.int64),
                    "interval_seconds": 3600.0,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
