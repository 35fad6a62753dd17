"""Logging for the long-running services (``edge run``, ``aggregator run``, ``aggregator api``).

Levels mean something: libraries' chatter (httpx, httpcore, urllib3, asyncio, uvicorn's
access log) stays at WARNING unless ``--log-level debug``; normal events are INFO. ``--log-format
json`` writes one JSON object per line for journald and log shippers.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

CHATTY_LIBRARIES = ("httpx", "httpcore", "urllib3", "asyncio", "uvicorn.access", "openvino")


class LogLevel(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, and the
    exception text when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class StandardErrorHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record is emitted, not the stream of the
    moment it was made (a command run in-process by a test runner gets a swapped stream that
    is closed afterwards)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        """The stream is always the current ``sys.stderr``."""


def configure_logging(level: LogLevel, log_format: LogFormat = LogFormat.TEXT) -> None:
    """Root logger at ``level`` on standard error; chatty libraries at WARNING unless debug."""
    handler = StandardErrorHandler()
    formatter: logging.Formatter = (
        JsonFormatter() if log_format is LogFormat.JSON else logging.Formatter(TEXT_FORMAT)
    )
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    library_level = logging.DEBUG if level is LogLevel.DEBUG else logging.WARNING
    for name in CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(library_level)


def uvicorn_log_config(level: LogLevel, log_format: LogFormat) -> dict[str, Any]:
    """A ``logging.config`` dictionary that routes uvicorn's loggers through the root handler
    configured by :func:`configure_logging` (same format, access log at WARNING unless debug)."""
    access_level = "DEBUG" if level is LogLevel.DEBUG else "WARNING"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "loggers": {
            "uvicorn": {"level": level.upper(), "handlers": [], "propagate": True},
            "uvicorn.error": {"level": level.upper(), "handlers": [], "propagate": True},
            "uvicorn.access": {"level": access_level, "handlers": [], "propagate": True},
        },
    }
