"""Line protocol for hourly visit counts imported from other systems, built with vectorised
string work: a seven-year import is millions of points, which :class:`Point` objects would
encode a hundred times slower.

Each (store, hour) row is one ``line_counts`` point (``entries`` = visits, ``exits`` = 0, an
entrance line of a pseudo camera) and one ``camera_intervals`` point whose
``interval_seconds`` records which hours the source covered. Both are keyed on store, camera,
line and hour, like the points of :mod:`aggregator.storage.points`, so importing the same
data twice overwrites instead of double counting.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from aggregator.storage.line_protocol import escape_key, escape_measurement
from aggregator.storage.measurements import (
    CAMERA_INTERVALS,
    ENTRANCE_TRUE,
    LINE_COUNTS,
    CameraIntervalsField,
    LineCountsField,
    Tag,
)

if TYPE_CHECKING:
    import pandas as pd


def _nanoseconds(frame: pd.DataFrame) -> np.ndarray:
    utc = frame["time_utc"].dt.tz_convert("UTC").dt.tz_localize(None)
    nanoseconds: np.ndarray = utc.to_numpy(dtype="datetime64[ns]").view(np.int64)
    return nanoseconds


def encode_hourly_visits(
    frame: pd.DataFrame, camera: str, line: str, software_version: str, batch_rows: int = 25_000
) -> Iterator[bytes]:
    """Line protocol for an hourly visit frame (columns ``store``, ``time_utc`` tz-aware hour
    starts, ``visits``, ``interval_seconds``) counted on line ``line`` of pseudo camera
    ``camera``, in batches of ``batch_rows`` rows (two points per row)."""
    camera_tag = escape_key(camera, "tag value")
    line_tag = escape_key(line, "tag value")
    version = software_version.replace("\\", "\\\\").replace('"', '\\"')
    entries, exits = LineCountsField.ENTRIES, LineCountsField.EXITS
    counted, covered = LineCountsField.INTERVAL_SECONDS, CameraIntervalsField.INTERVAL_SECONDS
    origin = CameraIntervalsField.SOFTWARE_VERSION
    for store, rows in frame.groupby("store", sort=True):
        store_tag = escape_key(str(store), "tag value")
        counts_head = (
            f"{escape_measurement(LINE_COUNTS)},{Tag.CAMERA}={camera_tag},"
            f"{Tag.ENTRANCE}={ENTRANCE_TRUE},{Tag.LINE}={line_tag},{Tag.STORE}={store_tag} "
        )
        coverage_head = (
            f"{escape_measurement(CAMERA_INTERVALS)},{Tag.CAMERA}={camera_tag},"
            f"{Tag.STORE}={store_tag} "
        )
        times = _nanoseconds(rows).tolist()
        visits = rows["visits"].to_numpy(dtype=np.int64).tolist()
        seconds = rows["interval_seconds"].to_numpy(dtype=np.float64).tolist()
        for start in range(0, len(times), batch_rows):
            stop = start + batch_rows
            lines = [
                f"{counts_head}{entries}={count}i,{exits}=0i,{counted}={span!r} {moment}"
                for count, span, moment in zip(
                    visits[start:stop], seconds[start:stop], times[start:stop], strict=True
                )
            ]
            lines.extend(
                f'{coverage_head}{covered}={span!r},{origin}="{version}" {moment}'
                for span, moment in zip(seconds[start:stop], times[start:stop], strict=True)
            )
            yield ("\n".join(lines) + "\n").encode("utf-8")
