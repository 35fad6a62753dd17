"""``footfall aggregator check-config``: what the config names must exist, and (``--connect``)
the broker and InfluxDB must answer. Also which InfluxDB errors no retry can fix, so that
``aggregator run`` stops with one line instead of retrying forever.
"""

from __future__ import annotations

import os
import socket
import ssl
from pathlib import Path

import httpx

from aggregator.config import AggregatorConfig
from aggregator.storage.influx import (
    InfluxClient,
    InfluxError,
    InfluxSettings,
    quote_identifier,
)
from protocol.preflight import mqtt_problems

_HINTS = {
    "404": " (is influx -> url the InfluxDB HTTP API, e.g. http://host:8086, without a path?)",
    "401": " (check influx -> username/password or token)",
    "403": " (check influx -> username/password or token)",
}


def permanent_influx_problem(error: InfluxError, settings: InfluxSettings) -> str | None:
    """Why retrying cannot help (wrong URL or login, TLS mismatch, unknown host), else None."""
    url = settings.url
    causes: list[BaseException] = []
    cause: BaseException | None = error
    while cause is not None and len(causes) < 10:
        causes.append(cause)
        cause = cause.__cause__ or cause.__context__
    for link in causes:
        if isinstance(link, ssl.SSLError):
            return (
                f"influx -> url {url}: TLS failed ({link.reason or link}); does the server "
                "speak https on this port (http:// otherwise), and is its certificate trusted?"
            )
        if isinstance(link, socket.gaierror) and link.errno == socket.EAI_NONAME:
            return f"influx -> url {url}: unknown host ({link.strerror})"
        if isinstance(link, httpx.UnsupportedProtocol | httpx.InvalidURL):
            return f"influx -> url {url}: {link}"
    if error.retryable:
        return None
    text = str(error)
    hint = next((hint for status, hint in _HINTS.items() if f"answered {status}" in text), "")
    return f"InfluxDB at {url}: {text}{hint}"


def _file_problem(path: Path | None, key: str) -> str | None:
    if path is not None and not path.is_file():
        return f"{key}: {path} is not a readable file"
    return None


def _writable_directory_problem(path: Path, key: str) -> str | None:
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        return f"{key}: cannot create or write {path} ({existing} is not a writable directory)"
    return None


def _webhook_secret_problem(config: AggregatorConfig) -> str | None:
    webhook = config.alerts.webhook if config.alerts is not None else None
    if webhook is None:
        return None
    return _file_problem(webhook.secret_file, "alerts -> webhook -> secret_file")


def file_problems(config: AggregatorConfig) -> list[str]:
    """Files and directories the config names that are missing or unusable."""
    problems = mqtt_problems(config.mqtt, "mqtt")
    if config.api.mqtt is not None:
        problems += mqtt_problems(config.api.mqtt, "api -> mqtt")
    for problem in (
        _file_problem(config.api.write_token_file, "api -> write_token_file"),
        _writable_directory_problem(config.spool_path, "spool_path"),
        _webhook_secret_problem(config),
    ):
        if problem is not None:
            problems.append(problem)
    return problems


def influx_problem(settings: InfluxSettings) -> str | None:
    """Whether InfluxDB answers a query on the database with these settings (URL, login)."""
    database = settings.database
    with InfluxClient(settings) as client:
        try:
            client.query(f"SHOW RETENTION POLICIES ON {quote_identifier(database)}")
        except InfluxError as error:
            if "database not found" in str(error):
                if settings.create_database:
                    return None  # aggregator run creates it
                return f"influx -> database {database!r} does not exist and create_database is off"
            return permanent_influx_problem(error, settings) or (
                f"InfluxDB at {settings.url} does not answer: {error}"
            )
    return None


def connection_problems(config: AggregatorConfig) -> list[str]:
    """The broker logins (aggregator's and the API's) and InfluxDB, for real."""
    problems = mqtt_problems(config.mqtt, "mqtt", connect=True)
    if config.api.mqtt is not None:
        problems += mqtt_problems(config.api.mqtt, "api -> mqtt", connect=True)
    problem = influx_problem(config.influx)
    return problems if problem is None else [*problems, problem]
