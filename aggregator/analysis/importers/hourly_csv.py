"""Hourly counts per store from a CSV exported by another system (a counter, a till).

The time column is ISO 8601 with a UTC offset (``2026-03-01T09:00:00+13:00`` or ``...Z``): a
time without one is ambiguous across daylight saving and is rejected, naming the line. Counts
are whole numbers >= 0. Rows may be finer than an hour; they are summed into hours (hour starts
in UTC). Every error names the file, the line and the bad value.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from aggregator.analysis.importers.writer import ImportDataError

if TYPE_CHECKING:
    import pandas as pd

_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")


def _line_number(position: int) -> int:
    """CSV line of a data row (line 1 is the header)."""
    return position + 2


def read_hourly_csv(path: Path, time_column: str, count_column: str) -> pd.DataFrame:
    """A frame with columns ``store``, ``time_utc`` (hour start, tz-aware UTC) and
    ``count_column`` (int), one row per store and hour, from a CSV with columns
    ``time_column``, ``store`` and ``count_column``."""
    import pandas as pd

    columns = (time_column, "store", count_column)
    try:
        table = pd.read_csv(path, dtype={time_column: str, "store": str}, keep_default_na=False)
    except (OSError, ValueError) as error:
        raise ImportDataError(f"cannot read {path}: {error}") from None
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise ImportDataError(
            f"{path}: missing column(s) {', '.join(missing)} (need {','.join(columns)})"
        )
    texts = table[time_column].astype(str).str.strip()
    no_offset = ~texts.str.contains(_OFFSET)
    if bool(no_offset.any()):
        position = int(np.flatnonzero(no_offset.to_numpy())[0])
        raise ImportDataError(
            f"{path} line {_line_number(position)}: {time_column} {texts.iloc[position]!r} has"
            " no UTC offset (write e.g. 2026-03-01T09:00:00+13:00)"
        )
    times = pd.to_datetime(texts, utc=True, format="ISO8601", errors="coerce")
    _reject_bad_rows(path, times.isna().to_numpy(), texts, time_column)
    counts = pd.to_numeric(table[count_column], errors="coerce")
    values = counts.to_numpy(dtype=np.float64)
    bad_counts = np.isnan(values) | (values < 0) | (values != np.round(values))
    _reject_bad_rows(path, bad_counts, table[count_column].astype(str), count_column)
    stores = table["store"].astype(str).str.strip()
    _reject_bad_rows(path, (stores == "").to_numpy(), stores, "store")
    frame = pd.DataFrame(
        {"store": stores, "time_utc": times.dt.floor("h"), count_column: values.astype(np.int64)}
    )
    return frame.groupby(["store", "time_utc"], sort=True)[count_column].sum().reset_index()


def _reject_bad_rows(path: Path, bad: np.ndarray, texts: pd.Series, column: str) -> None:
    if bool(bad.any()):
        position = int(np.flatnonzero(bad)[0])
        raise ImportDataError(
            f"{path} line {_line_number(position)}: bad {column} {texts.iloc[position]!r}"
            f" ({int(bad.sum())} bad row(s) in all)"
        )
