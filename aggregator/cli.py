"""``footfall aggregator ...`` commands. Heavy imports stay inside the commands."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from types import FrameType

import typer
from rich.console import Console

from aggregator.api.cli import api as api_command
from aggregator.config import AggregatorConfig, load_aggregator_config
from protocol.settings import ConfigError

app = typer.Typer(no_args_is_help=True)
console = Console(stderr=True)

CONFIG_OPTION = typer.Option(..., "--config", "-c", help="Aggregator YAML config")


def fail(message: str) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code=2)


def _load(config: Path) -> AggregatorConfig:
    try:
        return load_aggregator_config(config)
    except ConfigError as error:
        raise fail(str(error)) from None


@app.command("check-config")
def check_config(config: Path = CONFIG_OPTION) -> None:
    """Validate a config without connecting to anything; exits non-zero when it is invalid."""
    loaded = _load(config)
    stores = ", ".join(
        f"{store.id} ({store.timezone}, {len(store.cameras)} cameras"
        + (f", capacity {store.capacity})" if store.capacity else ")")
        for store in loaded.stores
    )
    console.print(f"[green]ok[/] {config}: stores {stores or '(none configured)'}")
    console.print(
        f"MQTT {loaded.mqtt.host}:{loaded.mqtt.port} group {loaded.mqtt.share_group}; "
        f"InfluxDB {loaded.influx.url} database {loaded.influx.database}; "
        f"spool {loaded.spool_path}",
        highlight=False,
    )


@app.command("run")
def run(
    config: Path = CONFIG_OPTION,
    client_id: str | None = typer.Option(
        None, help="MQTT client id of this replica (stable and unique per replica)"
    ),
    log_level: str = typer.Option("INFO", help="DEBUG, INFO, WARNING or ERROR"),
) -> None:
    """Consume edge messages into InfluxDB and publish live occupancy until SIGTERM/SIGINT."""
    loaded = _load(config)
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from aggregator.ingest.service import AggregatorService
    from aggregator.ingest.spool import SpoolError

    try:
        service = AggregatorService(loaded, client_id=client_id)
    except (SpoolError, ConfigError) as error:
        raise fail(str(error)) from None
    stop_requested = threading.Event()

    def request_stop(signal_number: int, frame: FrameType | None) -> None:
        stop_requested.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    starter = threading.Thread(target=service.start, name="start", daemon=True)
    starter.start()
    stop_requested.wait()
    console.print("stopping: flushing to InfluxDB and acknowledging")
    service.stop()
    starter.join(5)


# The HTTP API and entrance display: ``footfall aggregator api`` (aggregator/api/cli.py).
app.command("api")(api_command)
