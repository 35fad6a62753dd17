"""Checks of an MQTT connection setting that ``check-config`` runs before anything starts:
the files it names (password file, TLS files) and, when asked, a real login at the broker.

Each problem is one line naming the key (``mqtt -> password_file: ...``); none raises.
"""

from __future__ import annotations

import socket
import ssl
import threading
import uuid
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from protocol.mqtt_client import configure_login
from protocol.settings import ConfigError, MqttConnectionConfig

CONNECT_TIMEOUT_SECONDS = 5.0


def mqtt_problems(
    settings: MqttConnectionConfig,
    key: str = "mqtt",
    *,
    connect: bool = False,
    timeout_seconds: float = CONNECT_TIMEOUT_SECONDS,
) -> list[str]:
    """What is wrong with ``settings`` (files always; with ``connect`` also the broker's
    answer to a login), one line each, keys prefixed with ``key``."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"footfall-check-{uuid.uuid4().hex[:8]}",
        protocol=mqtt.MQTTv5,
    )
    try:
        configure_login(client, settings)
    except ConfigError as error:
        return [str(error).replace("mqtt ->", f"{key} ->", 1)]
    if not connect:
        return []
    problem = _login_problem(client, settings, key, timeout_seconds)
    return [] if problem is None else [problem]


def _login_problem(
    client: mqtt.Client, settings: MqttConnectionConfig, key: str, timeout_seconds: float
) -> str | None:
    where = f"{settings.host}:{settings.port}"
    answers: list[ReasonCode] = []
    answered = threading.Event()

    def on_connect(
        client: mqtt.Client, userdata: Any, flags: Any, reason_code: ReasonCode, props: Any
    ) -> None:
        answers.append(reason_code)
        answered.set()

    client.on_connect = on_connect
    try:
        client.connect(settings.host, settings.port, keepalive=settings.keepalive_seconds)
    except socket.gaierror as error:
        return f"{key} -> host: unknown host {settings.host!r} ({error.strerror})"
    except ssl.SSLError as error:
        return (
            f"{key} -> tls: the TLS handshake with {where} failed ({error.reason or error}); "
            "does the broker speak TLS on this port, and does ca_file sign its certificate?"
        )
    except OSError as error:
        return f"{key}: cannot reach the broker at {where}: {error.strerror or error}"
    client.loop_start()
    try:
        if not answered.wait(timeout_seconds):
            hint = "" if settings.tls else " (a TLS port needs mqtt -> tls)"
            return f"{key}: no MQTT answer from {where} within {timeout_seconds:g} s{hint}"
        if answers[0].is_failure:
            return (
                f"{key}: the broker at {where} refused the login of "
                f"{settings.username or '(anonymous)'}: {answers[0]}"
            )
        return None
    finally:
        client.disconnect()
        client.loop_stop()
