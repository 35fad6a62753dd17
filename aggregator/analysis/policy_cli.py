"""``footfall policy add | list | remove``: the registry of store policy changes."""

from __future__ import annotations

import json
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
from command_line.tables import Column, print_table

if TYPE_CHECKING:
    from aggregator.analysis.policies import PolicyEntry
    from aggregator.config import AggregatorConfig

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)
console = Console()


def parse_date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise fail(f"{option} {text!r} is not a date like 2026-03-01") from None


def store_timezones(
    stores: list[str], timezone: str | None, config: AggregatorConfig
) -> dict[str, str]:
    """``--tz`` for every store, else each store's time zone from the config's registry."""
    if timezone is not None:
        return dict.fromkeys(stores, timezone)
    return {store: config.store(store).timezone for store in stores}


@app.command("add")
def add(
    *,
    name: str = typer.Option(..., "--name", help="Policy name, e.g. 'late-opening'."),
    stores: list[str] = typer.Option(
        ..., "--store", "--stores", help="A store it applies to (repeatable, or S1,S2)."
    ),
    effective: str = typer.Option(..., "--effective", help="First store-local day, 2026-03-01."),
    description: str = typer.Option("", "--description", help="What changed."),
    timezone: str | None = typer.Option(
        None, "--tz", help="IANA zone of the stores (default: from --config, else UTC)."
    ),
    config_path: Path | None = CONFIG_OPTION,
    influx_url: str | None = URL_OPTION,
    database: str | None = DATABASE_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """Register a policy change for some stores from a store-local date."""
    from aggregator.analysis.policies import PolicyError, PolicyRegistry

    config = load_config(ConnectionOptions(config_path, influx_url, database, token))
    store_ids = split_list(stores, "--store")
    unknown = config.unknown_stores_error(store_ids)
    if unknown is not None:
        raise fail(f"--stores: {unknown}")
    effective_date = parse_date(effective, "--effective")
    timezones = store_timezones(store_ids, timezone, config)
    with influx_session(config, create_database=True, errors=(PolicyError,)) as client:
        policy = PolicyRegistry(client).add(name, store_ids, effective_date, timezones, description)
    zones = ", ".join(sorted(set(timezones.values())))
    if policy.staggered:
        waves: dict[str, list[str]] = {}
        for store, day in policy.effective_dates.items():
            waves.setdefault(day.isoformat(), []).append(store)
        listed = "; ".join(f"{day}: {', '.join(stores)}" for day, stores in sorted(waves.items()))
        console.print(
            f"policy {policy.name!r} ({zones}) now covers {len(policy.stores)} store(s) in "
            f"{len(waves)} waves (staggered roll-out): {listed}"
        )
        return
    console.print(
        f"policy {policy.name!r} effective {policy.effective_date} ({zones}) now covers "
        f"{len(policy.stores)} store(s): {', '.join(policy.stores)}"
    )


def _entry_rows(entries: list[PolicyEntry]) -> list[dict[str, object]]:
    return [
        {
            "policy": entry.policy,
            "store": entry.store,
            "effective_date": entry.effective_date.isoformat(),
            "timezone": entry.timezone,
            "description": entry.description,
            "removed": entry.removed,
        }
        for entry in entries
    ]


@app.command("list")
def list_policies(
    *,
    include_removed: bool = typer.Option(False, "--all", help="Also show removed policies."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    config_path: Path | None = CONFIG_OPTION,
    influx_url: str | None = URL_OPTION,
    database: str | None = DATABASE_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """List registered policies (removed ones only with --all)."""
    from aggregator.analysis.policies import PolicyRegistry

    config = load_config(ConnectionOptions(config_path, influx_url, database, token))
    with influx_session(config) as client:
        entries = PolicyRegistry(client).entries(include_removed)
    entries.sort(key=lambda entry: (entry.effective_date, entry.policy, entry.store))
    if as_json:
        typer.echo(json.dumps(_entry_rows(entries), indent=2))
        return
    if not entries:
        console.print("no policies registered")
        return
    columns = [
        Column("policy"),
        Column("effective", numeric=True),
        Column("store"),
        Column("time zone"),
        Column("description"),
        Column("removed"),
    ]
    rows = [
        [
            entry.policy,
            entry.effective_date.isoformat(),
            entry.store,
            entry.timezone,
            entry.description,
            "yes" if entry.removed else "",
        ]
        for entry in entries
    ]
    print_table(console, columns, rows)


@app.command("remove")
def remove(
    *,
    name: str = typer.Option(..., "--name", help="Policy to remove."),
    stores: list[str] = typer.Option(
        [], "--store", "--stores", help="Only these stores (repeatable; default all)."
    ),
    config_path: Path | None = CONFIG_OPTION,
    influx_url: str | None = URL_OPTION,
    database: str | None = DATABASE_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """Mark a policy removed (kept in InfluxDB with removed=true, hidden from list)."""
    from aggregator.analysis.policies import PolicyError, PolicyRegistry

    config = load_config(ConnectionOptions(config_path, influx_url, database, token))
    with influx_session(config, errors=(PolicyError,)) as client:
        removed = PolicyRegistry(client).remove(name, split_list(stores, "--store") or None)
    console.print(
        f"policy {name!r} removed from {len(removed)} store(s): "
        + ", ".join(entry.store for entry in removed)
    )
