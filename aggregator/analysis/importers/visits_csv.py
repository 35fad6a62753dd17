"""Visit counts exported from elsewhere: a CSV with columns ``time,store,visits`` (the rules
of :mod:`aggregator.analysis.importers.hourly_csv`); every hour that has a row counts as
covered."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from aggregator.analysis.importers.hourly_csv import read_hourly_csv
from aggregator.analysis.importers.writer import VisitSource

if TYPE_CHECKING:
    import pandas as pd

CSV_COLUMNS = ("time", "store", "visits")


def csv_source(path: Path) -> VisitSource:
    return VisitSource(camera="csv-import", line="visits", software_version=f"csv {path.name}")


def read_visits_csv(path: Path) -> pd.DataFrame:
    """An hourly visit frame (``writer.HOURLY_COLUMNS``) from a ``time,store,visits`` CSV."""
    hourly = read_hourly_csv(path, "time", "visits")
    hourly["interval_seconds"] = 3600.0
    return hourly
