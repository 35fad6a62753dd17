"""``footfall edge check-config``: what the config names must exist — video files and image
folders, USB cameras, MQTT password and TLS files, the outbox's directory — and,
with ``--connect``, the broker must accept the login and every stream's host must answer.

Each problem is one line naming the key path and the value; nothing raises.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

from edge.config import CameraConfig, EdgeConfig
from edge.vision.capture import is_live_uri
from protocol.preflight import mqtt_problems

DEFAULT_STREAM_PORTS = {"rtsp": 554, "rtsps": 322, "http": 80, "https": 443, "rtmp": 1935}
CONNECT_TIMEOUT_SECONDS = 5.0


def _source_problem(index: int, camera: CameraConfig, connect: bool) -> str | None:
    key = f"cameras -> {index} ({camera.id}) -> source -> uri"
    uri = camera.source.uri
    if uri.isdigit():
        device = Path(f"/dev/video{uri}")
        return None if device.exists() else f"{key}: USB camera {uri} ({device}) does not exist"
    if is_live_uri(uri):
        return _stream_problem(key, uri) if connect else None
    path = Path(uri).expanduser()
    if not path.exists():
        return f"{key}: {uri} does not exist (a video file, a folder of images or a stream URL)"
    if not os.access(path, os.R_OK):
        return f"{key}: {uri} is not readable by this user"
    return None


def _stream_problem(key: str, uri: str) -> str | None:
    """Whether the stream's host accepts a TCP connection (the stream itself is not read)."""
    parts = urlsplit(uri)
    host = parts.hostname
    if not host:
        return f"{key}: {uri!r} names no host"
    try:
        port = parts.port or DEFAULT_STREAM_PORTS.get(parts.scheme, 554)
    except ValueError as error:
        return f"{key}: {uri!r}: {error}"
    try:
        with socket.create_connection((host, port), CONNECT_TIMEOUT_SECONDS):
            return None
    except socket.gaierror as error:
        return f"{key}: unknown host {host!r} ({error.strerror})"
    except OSError as error:
        return f"{key}: cannot reach {host}:{port}: {error.strerror or error}"


def _outbox_problem(path: Path) -> str | None:
    existing = path.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        return f"outbox -> path: {path} is not readable and writable by this user"
    if not path.exists() and not (existing.is_dir() and os.access(existing, os.W_OK | os.X_OK)):
        return f"outbox -> path: cannot create {path} ({existing} is not a writable directory)"
    return None


def edge_problems(config: EdgeConfig, *, connect: bool = False) -> list[str]:
    """Everything wrong with what ``config`` names, one line each."""
    problems = [
        problem
        for index, camera in enumerate(config.cameras)
        if (problem := _source_problem(index, camera, connect)) is not None
    ]
    if config.mqtt is not None:
        problems += mqtt_problems(config.mqtt, "mqtt", connect=connect)
        outbox = _outbox_problem(config.outbox.path)
        if outbox is not None:
            problems.append(outbox)
    elif config.output_path is not None:
        parent = config.output_path.parent
        if not parent.is_dir():
            problems.append(f"output_path: directory {parent} does not exist")
    return problems
