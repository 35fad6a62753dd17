"""Visit counts exported from elsewhere: a CSV with columns ``time,store,visits``.

``time`` is ISO 8601 with a UTC offset (``2026-03-01T09:00:00+13:00`` or ``...Z``): a time
without one is ambiguous across daylight saving and is rejected, naming the line. Rows may be
finer than an hour; they are summed into hours (hour starts in UTC), and every hour that has a
row counts as covered.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from aggregator.analysis.importers.writer import ImportDataError, VisitSource

if TYPE_CHECKING:
    import pandas as pd

CSV_COLUMNS = ("time", "store", "visits")
_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")


def csv_source(path: Path) -> VisitSource:
    return VisitSource(camera="csv-import", line="visits", software_version=f"csv {path.name}")


def _line_number(position: int) -> int:
    """CSV line of a data row (line 1 is the header)."""
    return position + 2


def read_visits_csv(path: Path) -> pd.DataFrame:
    """An hourly visit frame (``writer.HOURLY_COLUMNS``) from a ``time,store,visits`` CSV."""
    import pandas as pd

    try:
        table = pd.read_csv(path, dtype={"time": str, "store": str}, keep_default_na=False)
    except (OSError, ValueError) as error:
        raise ImportDataError(f"cannot read {path}: {error}") from None
    missing = [column for column in CSV_COLUMNS if column not in table.columns]
    if missing:
        raise ImportDataError(
            f"{path}: missing column(s) {', '.join(missing)} (need {','.join(CSV_COLUMNS)})"
        )
    texts = table["time"].astype(str).str.strip()
    no_offset = ~texts.str.contains(_OFFSET)
    if bool(no_offset.any()):
        position = int(np.flatnonzero(no_offset.to_numpy())[0])
        raise ImportDataError(
            f"{path} line {_line_number(position)}: time {texts.iloc[position]!r} has no UTC "
            "offset (write e.g. 2026-03-01T09:00:00+13:00)"
        )
    times = pd.to_datetime(texts, utc=True, format="ISO8601", errors="coerce")
    _reject_bad_rows(path, times.isna().to_numpy(), texts, "time")
    visits = pd.to_numeric(table["visits"], errors="coerce")
    values = visits.to_numpy(dtype=np.float64)
    bad_visits = np.isnan(values) | (values < 0) | (values != np.round(values))
    _reject_bad_rows(path, bad_visits, table["visits"].astype(str), "visits")
    stores = table["store"].astype(str).str.strip()
    _reject_bad_rows(path, (stores == "").to_numpy(), stores, "store")
    frame = pd.DataFrame(
        {"store": stores, "time_utc": times.dt.floor("h"), "visits": values.astype(np.int64)}
    )
    hourly = frame.groupby(["store", "time_utc"], sort=True)["visits"].sum().reset_index()
    hourly["interval_seconds"] = 3600.0
    return hourly


def _reject_bad_rows(path: Path, bad: np.ndarray, texts: pd.Series, column: str) -> None:
    if bool(bad.any()):
        position = int(np.flatnonzero(bad)[0])
        raise ImportDataError(
            f"{path} line {_line_number(position)}: bad {column} {texts.iloc[position]!r}"
            f" ({int(bad.sum())} bad row(s) in all)"
        )
