"""``footfall aggregator api``: serve the HTTP API and the entrance display."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from command_line.logs import LogFormat, LogLevel, configure_logging, uvicorn_log_config
from command_line.options import LOG_FORMAT_OPTION, LOG_LEVEL_OPTION, QUIET_OPTION
from protocol.settings import ConfigError

console = Console(stderr=True)

SHUTDOWN_GRACE_SECONDS = 3
"""Open event streams (displays) are cut after this long when the server stops."""


def api(
    config: Path = typer.Option(..., "--config", "-c", help="Aggregator YAML config"),
    host: str | None = typer.Option(None, help="Bind address (default: api.host from config)"),
    port: int | None = typer.Option(
        None, min=1, max=65535, help="Port (default: api.port from config)"
    ),
    log_level: LogLevel = LOG_LEVEL_OPTION,
    log_format: LogFormat = LOG_FORMAT_OPTION,
    quiet: bool = QUIET_OPTION,
) -> None:
    """Serve the HTTP API (docs at /docs) and the entrance display at /display/{store}."""
    import uvicorn

    from aggregator.api.app import create_app
    from aggregator.config import load_aggregator_config

    level = LogLevel.WARNING if quiet else log_level
    configure_logging(level, log_format)
    try:
        loaded = load_aggregator_config(config)
        application = create_app(loaded)
    except ConfigError as error:
        console.print(f"[bold red]error:[/] {error}", highlight=False)
        raise typer.Exit(code=2) from None
    uvicorn.run(
        application,
        host=host or loaded.api.host,
        port=port or loaded.api.port,
        log_level=level.value,
        log_config=uvicorn_log_config(level, log_format),
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
    )
