"""``footfall aggregator api``: serve the HTTP API and the entrance display."""

from __future__ import annotations

from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from aggregator.api.context import ApiContext
from command_line.logs import LogFormat, LogLevel, configure_logging, uvicorn_log_config
from command_line.options import LOG_FORMAT_OPTION, LOG_LEVEL_OPTION, QUIET_OPTION
from protocol.settings import ConfigError

if TYPE_CHECKING:
    from fastapi import FastAPI

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
    _serve(
        application,
        application.state.context,
        host=host or loaded.api.host,
        port=port or loaded.api.port,
        level=level,
        log_format=log_format,
    )


def _serve(
    application: FastAPI,
    context: ApiContext,
    *,
    host: str,
    port: int,
    level: LogLevel,
    log_format: LogFormat,
) -> None:
    """uvicorn, with open event streams (entrance displays) ended when asked to stop, so a
    normal stop does not end in uvicorn's "Cancel N running task(s)" error."""
    import uvicorn

    class ClosingStreamsServer(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            if context.board is not None:
                context.board.close_streams()
            super().handle_exit(sig, frame)

    config = uvicorn.Config(
        application,
        host=host,
        port=port,
        log_level=level.value,
        log_config=uvicorn_log_config(level, log_format),
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
    )
    ClosingStreamsServer(config).run()
