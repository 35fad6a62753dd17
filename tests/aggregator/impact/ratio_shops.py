"""Synthetic shops with a known truth for every count of a ratio metric, written into InfluxDB
the way the product stores them: hourly schema version 2 intervals of a door camera with an
``entrance`` line (visits) and a ``passing`` line on the pavement (passers-by, both
directions), and till transactions through ``footfall import transactions``.

Passers-by are ``synthetic_visits`` (weekday x hour profile, day-level AR(1) noise per store and
shared); entries are a binomial draw of the passers-by at the shop's capture rate, and
transactions a binomial draw of the entries at its conversion rate. Both rates carry a
day-level shock shared by every shop (weather, a payday) and a small one of their own, so a
comparison with control shops matters. From the change date on, each group moves one thing:

* ``TRANSACTIONS_UP``: conversion x 1.15 (transactions +15%, visits unchanged);
* ``VISITS_UP``: capture rate x 1.2 (visits +20%) and conversion ÷ 1.2 (transactions
  unchanged, so conversion −16.7%);
* ``ENTRIES_UP``: capture rate x 1.1 (entries +10%, passers-by unchanged);
* ``BOTH_DOWN``: passers-by −30%, entries follow at the same capture rate (−30%).

``BARE`` has a door line only: no passing line and no transactions; ``TILL_OUTAGE`` names
two days of one shop without transactions.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from aggregator.analysis.impact.synthetic import NoiseSettings, synthetic_visits
from aggregator.storage.influx import InfluxClient
from aggregator.storage.line_protocol import Point
from aggregator.storage.points import interval_points
from protocol.messages import CountInterval, LineCount, LineRole

CHANGE = date(2025, 3, 3)
FIRST_DAY = CHANGE - timedelta(days=60)
DAYS = 90
LONDON = "Europe/London"
CONTROLS = [f"control-{number}" for number in range(1, 7)]
TRANSACTIONS_UP = ["till-1", "till-2", "till-3"]
VISITS_UP = ["busy-1", "busy-2", "busy-3"]
ENTRIES_UP = ["window-1", "window-2", "window-3"]
BOTH_DOWN = ["roadworks-1", "roadworks-2", "roadworks-3"]
BARE = "bare"
GROUPS = {
    "transactions-up": TRANSACTIONS_UP,
    "visits-up": VISITS_UP,
    "entries-up": ENTRIES_UP,
    "both-down": BOTH_DOWN,
}
STORES = [*CONTROLS, *TRANSACTIONS_UP, *VISITS_UP, *ENTRIES_UP, *BOTH_DOWN, BARE]
TILL_OUTAGE = ("till-2", [date(2025, 2, 17), date(2025, 2, 18)])
"""A shop and the days without any transactions imported."""
PASSERS_BY_PER_DAY = 5000.0
PASSING_NOISE = NoiseSettings(store_sd=0.03, common_sd=0.05, autocorrelation=0.3)
"""Day-level log noise of the passers-by: mostly shared (weather), a little per shop."""
COMMON_RATE_SD, OWN_RATE_SD = 0.04, 0.02
"""Standard deviations of the day-level log shocks to both rates: shared, and per shop."""


def _multiplier(
    stores: np.ndarray, after: np.ndarray, group: list[str], factor: float
) -> np.ndarray:
    return np.where(after & np.isin(stores, group), factor, 1.0)


def shop_hours(seed: int = 5) -> pd.DataFrame:
    """``store, time_utc, passers_by, entries, transactions`` for every shop-hour."""
    rng = np.random.default_rng([seed, 1])  # a stream of its own, not synthetic_visits' one
    passing = synthetic_visits(
        STORES, first_day=FIRST_DAY, days=DAYS, change_date=CHANGE,
        effects=dict.fromkeys(BOTH_DOWN, -0.30), seed=seed, timezone=LONDON,
        base_visits=dict.fromkeys(STORES, PASSERS_BY_PER_DAY), noise=PASSING_NOISE,
    )  # fmt: skip
    stores = passing["store"].to_numpy(dtype=object)
    code = pd.Index(STORES).get_indexer(stores)
    local = passing["time_utc"].dt.tz_convert(LONDON).dt.tz_localize(None).dt.normalize()
    day = np.asarray((local - pd.Timestamp(FIRST_DAY)).dt.days)
    after = day >= (CHANGE - FIRST_DAY).days
    rates = []
    for low, high in ((0.25, 0.4), (0.15, 0.3)):  # capture, conversion
        base = rng.uniform(low, high, size=len(STORES))
        shock = rng.normal(0.0, COMMON_RATE_SD, DAYS)[None, :] + rng.normal(
            0.0, OWN_RATE_SD, (len(STORES), DAYS)
        )
        rates.append(base[code] * np.exp(shock[code, day]))
    capture = rates[0] * _multiplier(stores, after, VISITS_UP, 1.2)
    capture *= _multiplier(stores, after, ENTRIES_UP, 1.1)
    conversion = rates[1] * _multiplier(stores, after, TRANSACTIONS_UP, 1.15)
    conversion /= _multiplier(stores, after, VISITS_UP, 1.2)
    passers_by = passing["visits"].to_numpy()
    entries = rng.binomial(passers_by, np.clip(capture, 0.0, 1.0))
    transactions = rng.binomial(entries, np.clip(conversion, 0.0, 1.0))
    return pd.DataFrame(
        {
            "store": stores,
            "time_utc": passing["time_utc"],
            "passers_by": passers_by,
            "entries": entries,
            "transactions": transactions,
        }
    )


def _interval(
    store: str, start: pd.Timestamp, passers_by: int, entries: int, sequence: int
) -> CountInterval:
    lines = {"door": LineCount(entries=entries, exits=entries, role=LineRole.ENTRANCE)}
    if store != BARE:
        half = passers_by // 2
        lines["pavement"] = LineCount(entries=half, exits=passers_by - half, role=LineRole.PASSING)
    moment = start.to_pydatetime()
    return CountInterval(
        schema_version=2,
        store_id=store,
        camera_id="door-cam",
        sequence=sequence,
        interval_start_utc=moment,
        interval_end_utc=moment + timedelta(hours=1),
        frames=3600,
        lines=lines,
        software_version="test",
        config_fingerprint="0123abcd",
    )


def write_counts(client: InfluxClient, hours: pd.DataFrame) -> None:
    """The door camera's hourly intervals (every hour: its coverage is complete)."""
    rows = zip(
        hours["store"], hours["time_utc"], hours["passers_by"], hours["entries"], strict=True
    )
    points: list[Point] = []
    for sequence, (store, start, passers_by, entries) in enumerate(rows):
        interval = _interval(str(store), start, int(passers_by), int(entries), sequence)
        points += interval_points(interval, None)
        if len(points) >= 20_000:
            client.write(points)
            points = []
    client.write(points)


def write_transactions_csv(hours: pd.DataFrame, path: Path) -> None:
    """``store,hour,transactions`` for the hours with visits (a till reports open hours),
    except ``TILL_OUTAGE``: days whose export never came."""
    local = hours["time_utc"].dt.tz_convert(LONDON).dt.date
    lost = (hours["store"] == TILL_OUTAGE[0]) & local.isin(TILL_OUTAGE[1])
    till = hours[(hours["entries"] > 0) & (hours["store"] != BARE) & ~lost]
    pd.DataFrame(
        {
            "store": till["store"],
            "hour": till["time_utc"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "transactions": till["transactions"],
        }
    ).to_csv(path, index=False)


def counted(
    hours: pd.DataFrame, stores: list[str], column: str, after: bool, skipped: list[date]
) -> float:
    """A count summed over ``stores`` and the 28 days before or after the change, but for
    the ``skipped`` days."""
    local = hours["time_utc"].dt.tz_convert(LONDON).dt.tz_localize(None).dt.normalize()
    first = pd.Timestamp(CHANGE if after else CHANGE - timedelta(days=28))
    inside = (local >= first) & (local < first + pd.Timedelta(days=28))
    inside &= ~local.isin([pd.Timestamp(day) for day in skipped])
    return float(hours.loc[inside & hours["store"].isin(stores), column].sum())
