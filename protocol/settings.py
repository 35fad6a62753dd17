"""Settings both sides share: the configuration error, how validation errors are described
(key path and bad value), and the MQTT connection settings with their one validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from protocol.topics import TOPIC_ROOT, TopicRoot


class ConfigError(ValueError):
    """The configuration is invalid; the message names the key path and the bad value."""


class Section(BaseModel):
    """A configuration section: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class TlsConfig(Section):
    ca_file: Path | None = None
    certificate_file: Path | None = None
    key_file: Path | None = None
    insecure_skip_verify: bool = False


class MqttConnectionConfig(Section):
    """Where the broker is and how to log in: the part of an ``mqtt`` section the edge and
    the aggregator share (``protocol.mqtt_client`` applies it to a paho client)."""

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 1883
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    """File holding the password (systemd credentials, Docker secrets)."""
    tls: TlsConfig | None = None
    keepalive_seconds: Annotated[int, Field(ge=5, le=3600)] = 30
    topic_root: TopicRoot = TOPIC_ROOT


def describe_errors(error: ValidationError) -> str:
    """One line per problem: ``key -> path: message (got value)``."""
    lines = []
    for problem in error.errors():
        path = " -> ".join(str(part) for part in problem["loc"]) or "(top level)"
        message = problem["msg"]
        if problem["type"] not in {"missing"}:
            value = json.dumps(problem.get("input"), default=str)
            if len(value) > 120:
                value = value[:117] + "..."
            message = f"{message} (got {value})"
        lines.append(f"{path}: {message}")
    return "\n".join(lines)
