"""Service logging: libraries' chatter hidden unless debug, JSON lines for journald."""

from __future__ import annotations

import json
import logging

import pytest

from command_line.logs import (
    CHATTY_LIBRARIES,
    LogFormat,
    LogLevel,
    configure_logging,
    uvicorn_log_config,
)


@pytest.fixture(autouse=True)
def _restore_logging() -> object:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in CHATTY_LIBRARIES}
    yield None
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, library_level in levels.items():
        logging.getLogger(name).setLevel(library_level)


def test_info_hides_library_requests_but_keeps_our_events(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(LogLevel.INFO)
    logging.getLogger("httpx").info("HTTP Request: POST http://influx/write 204")
    logging.getLogger("aggregator.ingest.writer").info("spool drained")
    logging.getLogger("httpx").warning("connection reset")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("INFO aggregator.ingest.writer: spool drained")
    assert lines[1].endswith("WARNING httpx: connection reset")


def test_debug_shows_library_requests(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(LogLevel.DEBUG)
    logging.getLogger("httpx").info("HTTP Request: POST http://influx/write 204")
    assert "HTTP Request" in capsys.readouterr().err


def test_quiet_level_keeps_warnings_only(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(LogLevel.WARNING)
    logging.getLogger("edge.status").info("camera door: 15 fps")
    logging.getLogger("edge.worker").warning("clock stepped back")
    assert capsys.readouterr().err.count("\n") == 1


def test_json_lines_have_stable_keys(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(LogLevel.INFO, LogFormat.JSON)
    logging.getLogger("edge.status").info("camera %s: %d fps", "door", 15)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("edge.worker").exception("failed")
    first, second = (json.loads(line) for line in capsys.readouterr().err.splitlines())
    assert set(first) == {"time", "level", "logger", "message"}
    assert (first["level"], first["logger"], first["message"]) == (
        "info",
        "edge.status",
        "camera door: 15 fps",
    )
    assert first["time"].endswith("+00:00")
    assert second["level"] == "error"
    assert "RuntimeError: boom" in second["exception"]


def test_uvicorn_access_log_follows_the_level() -> None:
    quiet = uvicorn_log_config(LogLevel.INFO, LogFormat.TEXT)["loggers"]
    chatty = uvicorn_log_config(LogLevel.DEBUG, LogFormat.TEXT)["loggers"]
    assert quiet["uvicorn.access"]["level"] == "WARNING"
    assert chatty["uvicorn.access"]["level"] == "DEBUG"
    assert quiet["uvicorn.error"] == {"level": "INFO", "handlers": [], "propagate": True}
