"""Till transactions per store and hour (``footfall import transactions``), for conversion
(transactions ÷ visits). The CSV has columns ``store,hour,transactions`` with the rules of
:mod:`aggregator.analysis.importers.hourly_csv`; several rows in one hour are summed. Each
(store, hour) is one ``store_transactions`` point keyed on store and hour, so importing the
same file again overwrites instead of double counting."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from aggregator.analysis.importers.hourly_csv import read_hourly_csv
from aggregator.storage.points import transaction_point

if TYPE_CHECKING:
    import pandas as pd

    from aggregator.storage.influx import InfluxClient

TRANSACTION_COLUMNS = ("store", "hour", "transactions")
BATCH_POINTS = 5000


@dataclass(frozen=True)
class TransactionSummary:
    stores: int
    hours: int
    transactions: int
    first_hour_utc: datetime | None
    last_hour_utc: datetime | None


def read_transactions_csv(path: Path) -> pd.DataFrame:
    """Columns ``store``, ``time_utc`` (hour start, UTC) and ``transactions``."""
    return read_hourly_csv(path, "hour", "transactions")


def write_transactions(client: InfluxClient, frame: pd.DataFrame) -> TransactionSummary:
    """Write every (store, hour) of ``frame`` as a ``store_transactions`` point."""
    points = [
        transaction_point(str(store), moment.to_pydatetime(), int(count))
        for store, moment, count in zip(
            frame["store"], frame["time_utc"], frame["transactions"], strict=True
        )
    ]
    for start in range(0, len(points), BATCH_POINTS):
        client.write(points[start : start + BATCH_POINTS])
    times = frame["time_utc"]
    return TransactionSummary(
        stores=int(frame["store"].nunique()),
        hours=len(frame),
        transactions=int(frame["transactions"].sum()),
        first_hour_utc=times.min().to_pydatetime() if len(frame) else None,
        last_hour_utc=times.max().to_pydatetime() if len(frame) else None,
    )
