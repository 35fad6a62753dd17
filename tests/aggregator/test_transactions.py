"""``footfall import transactions``: till counts per store and hour into the real InfluxDB,
summed per hour, idempotent, and errors that name the line."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from aggregator.analysis.importers.transactions import read_transactions_csv
from aggregator.analysis.importers.writer import ImportDataError
from aggregator.storage.influx import InfluxClient
from aggregator.storage.measurements import STORE_TRANSACTIONS, StoreTransactionsField, Tag
from footfall.cli import app

CSV = (
    "store,hour,transactions\n"
    "north,2026-03-02T09:00:00+13:00,12\n"
    "north,2026-03-02T09:30:00+13:00,3\n"  # same hour: summed with the row above
    "north,2026-03-02T10:00:00+13:00,20\n"
    "south,2026-03-01T20:00:00Z,7\n"
)


def _connection(influx: InfluxClient) -> list[str]:
    return ["--influx-url", influx.settings.url, "--database", influx.settings.database]


def test_rows_of_one_hour_are_summed(tmp_path: Path) -> None:
    path = tmp_path / "transactions.csv"
    path.write_text(CSV)
    frame = read_transactions_csv(path)
    rows = [
        (store, moment.isoformat(), int(count))
        for store, moment, count in frame[["store", "time_utc", "transactions"]].itertuples(
            index=False
        )
    ]
    assert rows == [
        ("north", "2026-03-01T20:00:00+00:00", 15),
        ("north", "2026-03-01T21:00:00+00:00", 20),
        ("south", "2026-03-01T20:00:00+00:00", 7),
    ]


def test_import_twice_stores_each_hour_once(influx: InfluxClient, tmp_path: Path) -> None:
    path = tmp_path / "transactions.csv"
    path.write_text(CSV)
    for _ in range(2):
        result = CliRunner().invoke(
            app, ["import", "transactions", str(path), *_connection(influx)]
        )
        assert result.exit_code == 0, result.output
        assert "imported 3 store-hours (42 transactions) for 2 stores" in result.output
    field = StoreTransactionsField.TRANSACTIONS
    series = influx.query(
        f'SELECT sum("{field}"), count("{field}") FROM "{STORE_TRANSACTIONS}" '
        f'GROUP BY "{Tag.STORE}"'
    )
    totals = {one.tags[Tag.STORE]: (one.values[0][1], one.values[0][2]) for one in series}
    assert totals == {"north": (35, 2), "south": (7, 1)}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("store,transactions\nnorth,3\n", "missing column.*hour"),
        ("store,hour,transactions\nnorth,2026-03-02T09:00:00,3\n", "line 2: hour .* no UTC"),
        ("store,hour,transactions\nnorth,2026-03-02T09:00Z,-1\n", "line 2: bad transactions"),
        ("store,hour,transactions\nnorth,2026-03-02T09:00Z,1.5\n", "line 2: bad transactions"),
        ("store,hour,transactions\n,2026-03-02T09:00Z,1\n", "line 2: bad store"),
    ],
)
def test_errors_name_the_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(ImportDataError, match=message):
        read_transactions_csv(path)


def test_bad_file_exits_2_and_writes_nothing(influx: InfluxClient, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("store,hour,transactions\nnorth,2026-03-02T09:00:00,3\n")
    result = CliRunner().invoke(app, ["import", "transactions", str(path), *_connection(influx)])
    assert result.exit_code == 2
    assert "line 2" in result.output
    assert influx.query(f'SELECT * FROM "{STORE_TRANSACTIONS}"') == []
