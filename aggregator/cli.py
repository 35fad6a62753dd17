"""``footfall aggregator ...`` commands. Heavy imports stay inside the commands."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType

import typer
from rich.console import Console

from aggregator.api.cli import api as api_command
from aggregator.config import AggregatorConfig, load_aggregator_config
from command_line.logs import LogFormat, LogLevel, configure_logging
from command_line.options import LOG_FORMAT_OPTION, LOG_LEVEL_OPTION, QUIET_OPTION
from command_line.text import plural
from protocol.settings import ConfigError

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)
console = Console(stderr=True)

CONFIG_OPTION = typer.Option(..., "--config", "-c", help="Aggregator YAML config")


def fail(message: str) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


def _load(config: Path) -> AggregatorConfig:
    try:
        return load_aggregator_config(config)
    except ConfigError as error:
        raise fail(str(error)) from None


@app.command("check-config")
def check_config(
    config: Path = CONFIG_OPTION,
    connect: bool = typer.Option(
        False, "--connect", help="Also log in at the broker and query InfluxDB"
    ),
) -> None:
    """Validate a config and the files it names (password, TLS, token files, spool
    directory); with --connect also the broker logins and InfluxDB. Exits 2 naming every
    problem."""
    from aggregator.preflight import connection_problems, file_problems

    loaded = _load(config)
    problems = file_problems(loaded)
    if connect and not problems:
        problems = connection_problems(loaded)
    if problems:
        for problem in problems:
            console.print(f"[bold red]error:[/] {problem}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=2)
    stores = ", ".join(
        f"{store.id} ({store.timezone}, {plural(len(store.cameras), 'camera')}"
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
    if connect:
        console.print("[green]connected[/]: broker login and InfluxDB answered")


@app.command("run")
def run(
    config: Path = CONFIG_OPTION,
    client_id: str | None = typer.Option(
        None, help="MQTT client id of this replica (stable and unique per replica)"
    ),
    log_level: LogLevel = LOG_LEVEL_OPTION,
    log_format: LogFormat = LOG_FORMAT_OPTION,
    quiet: bool = QUIET_OPTION,
) -> None:
    """Consume edge messages into InfluxDB and publish live occupancy until SIGTERM/SIGINT."""
    loaded = _load(config)
    configure_logging(LogLevel.WARNING if quiet else log_level, log_format)
    from aggregator.alerts.monitor import start_alerts
    from aggregator.ingest.service import AggregatorService
    from aggregator.ingest.spool import SpoolError
    from protocol.preflight import permanent_mqtt_problem

    # Messages wait in the broker while the aggregator is stopped, so a login that can never
    # work (unknown host, TLS mismatch, refused password) stops it with one line; a broker
    # that is down is retried.
    mqtt_problem = permanent_mqtt_problem(loaded.mqtt)
    if mqtt_problem is not None:
        raise fail(mqtt_problem)
    try:
        service = AggregatorService(loaded, client_id=client_id)
    except (SpoolError, ConfigError) as error:
        raise fail(str(error)) from None
    stop_requested = threading.Event()

    def request_stop(signal_number: int, frame: FrameType | None) -> None:
        stop_requested.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    fatal: list[str] = []

    def start() -> None:
        try:
            service.start()
        except ConfigError as error:  # a setting no retry can fix: one line, exit 2
            fatal.append(str(error))
            stop_requested.set()

    try:
        alerts = start_alerts(loaded, service.client_id)  # beside ingest, never in its path
    except ConfigError as error:
        raise fail(str(error)) from None
    starter = threading.Thread(target=start, name="start", daemon=True)
    starter.start()
    stop_requested.wait()
    if alerts is not None:
        alerts.stop()
    if fatal:
        raise fail(fatal[0])
    console.print("stopping: flushing to InfluxDB and acknowledging")
    service.stop()
    starter.join(5)


# The HTTP API and entrance display: ``footfall aggregator api`` (aggregator/api/cli.py).
app.command("api")(api_command)
