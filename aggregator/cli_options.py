"""The InfluxDB connection shared by the ``policy``, ``impact`` and ``import`` commands.

A command takes ``--config`` (the aggregator YAML: its ``influx`` section and its store
registry, which gives each store's time zone) and/or ``--influx-url`` / ``--database`` /
``--token``, which override the file. Errors become one message naming the bad thing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

if TYPE_CHECKING:
    from aggregator.config import AggregatorConfig
    from aggregator.storage.influx import InfluxClient

console = Console(stderr=True)

CONFIG_OPTION = typer.Option(
    None, "--config", "-c", help="Aggregator YAML (influx section, stores)."
)
URL_OPTION = typer.Option(None, "--influx-url", help="InfluxDB URL (overrides --config).")
DATABASE_OPTION = typer.Option(None, "--database", help="InfluxDB database (overrides --config).")
TOKEN_OPTION = typer.Option(
    None, "--token", envvar="FOOTFALL_INFLUX_TOKEN", help="InfluxDB 2.x/3.x token."
)


def fail(message: str) -> typer.Exit:
    """Print one error line and return the exit to raise (exit code 2)."""
    console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


@dataclass(frozen=True)
class ConnectionOptions:
    config_path: Path | None = None
    influx_url: str | None = None
    database: str | None = None
    token: str | None = None


def load_config(options: ConnectionOptions) -> AggregatorConfig:
    """The aggregator config from ``--config`` with the command-line overrides applied."""
    from pydantic import SecretStr

    from aggregator.config import AggregatorConfig, load_aggregator_config
    from protocol.settings import ConfigError

    try:
        config = (
            load_aggregator_config(options.config_path)
            if options.config_path is not None
            else AggregatorConfig()
        )
    except ConfigError as error:
        raise fail(str(error)) from None
    influx = config.influx
    if options.influx_url is not None:
        influx = influx.model_copy(update={"url": options.influx_url})
    if options.database is not None:
        influx = influx.model_copy(update={"database": options.database})
    if options.token is not None:
        influx = influx.model_copy(update={"token": SecretStr(options.token)})
    return config.model_copy(update={"influx": influx})


def connect(config: AggregatorConfig, *, create_database: bool = False) -> InfluxClient:
    """A client that has answered ``/ping``; with ``create_database`` the database exists."""
    from aggregator.storage.influx import InfluxClient, InfluxError

    client = InfluxClient(config.influx)
    if not client.ping():
        client.close()
        raise fail(
            f"InfluxDB at {config.influx.url} is not reachable (is it running? "
            "check --influx-url or the influx section of --config)"
        )
    if create_database:
        try:
            client.ensure_database()
        except InfluxError as error:
            client.close()
            raise fail(f"cannot create database {config.influx.database!r}: {error}") from None
    return client


@contextmanager
def influx_session(
    config: AggregatorConfig,
    *,
    create_database: bool = False,
    errors: tuple[type[Exception], ...] = (),
) -> Iterator[InfluxClient]:
    """A client from ``connect``, closed on leaving; an ``InfluxError`` (or one of ``errors``)
    raised inside becomes one error message and exit code 2."""
    from aggregator.storage.influx import InfluxError

    caught: tuple[type[Exception], ...] = (InfluxError, *errors)
    client = connect(config, create_database=create_database)
    try:
        yield client
    except caught as error:
        raise fail(str(error)) from None
    finally:
        client.close()


def split_list(values: str | Sequence[str] | None, option: str) -> list[str]:
    """A list option's values, repeated (``--store S1 --store S2``) and/or comma-separated
    (``--store S1,S2``), as one list; empty items and duplicates are errors naming ``option``.
    """
    if values is None:
        return []
    texts = [values] if isinstance(values, str) else list(values)
    if not texts:
        return []
    text = ",".join(texts)
    items = [item.strip() for item in text.split(",")]
    if any(not item for item in items):
        raise fail(f"{option} {text!r} has an empty item")
    duplicates = sorted({item for item in items if items.count(item) > 1})
    if duplicates:
        raise fail(f"{option} lists {', '.join(duplicates)} more than once")
    return items
