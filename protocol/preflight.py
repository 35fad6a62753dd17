"""Checks of an MQTT connection setting that ``check-config`` runs before anything starts:
the files it names (password file, TLS files) and, when asked, a real login at the broker.

Each problem is one line naming the key (``mqtt -> password_file: ...``); none raises.
"""

from __future__ import annotations

import socket
import ssl
import threading
import uuid
from typing import Any, NamedTuple

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
    return [] if problem is None else [problem.text]


def permanent_mqtt_problem(
    settings: MqttConnectionConfig,
    key: str = "mqtt",
    *,
    timeout_seconds: float = CONNECT_TIMEOUT_SECONDS,
) -> str | None:
    """What no retry can fix about logging in with ``settings`` — an unreadable password or
    TLS file, an unknown host, a TLS handshake that fails, a refused user name or password —
    else None (a broker that is down or slow to answer may come back)."""
    problems = mqtt_problems(settings, key)
    if problems:
        return problems[0]
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"footfall-check-{uuid.uuid4().hex[:8]}",
        protocol=mqtt.MQTTv5,
    )
    configure_login(client, settings)
    problem = _login_problem(client, settings, key, timeout_seconds)
    return problem.text if problem is not None and problem.permanent else None


class _Problem(NamedTuple):
    text: str
    permanent: bool


_REFUSED_FOR_GOOD = {134, 135}
"""CONNACK reasons that the same login will always get: bad user name or password, not
authorised."""


def _login_problem(
    client: mqtt.Client, settings: MqttConnectionConfig, key: str, timeout_seconds: float
) -> _Problem | None:
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
        return _Problem(
            f"{key} -> host: unknown host {settings.host!r} ({error.strerror})",
            error.errno == socket.EAI_NONAME,
        )
    except ssl.SSLError as error:
        return _Problem(
            f"{key} -> tls: the TLS handshake with {where} failed ({error.reason or error}); "
            "does the broker speak TLS on this port, and does ca_file sign its certificate?",
            True,
        )
    except ConnectionResetError as error:
        if settings.tls is None:
            return _Problem(f"{key}: the broker at {where} reset the connection", False)
        # The port accepted the connection and dropped the TLS hello: a plain MQTT listener.
        return _Problem(
            f"{key} -> tls: the TLS handshake with {where} failed ({error.strerror}); does "
            "the broker speak TLS on this port?",
            True,
        )
    except OSError as error:
        return _Problem(
            f"{key}: cannot reach the broker at {where}: {error.strerror or error}", False
        )
    client.loop_start()
    try:
        if not answered.wait(timeout_seconds):
            hint = "" if settings.tls else " (a TLS port needs mqtt -> tls)"
            return _Problem(
                f"{key}: no MQTT answer from {where} within {timeout_seconds:g} s{hint}", False
            )
        if answers[0].is_failure:
            return _Problem(
                f"{key}: the broker at {where} refused the login of "
                f"{settings.username or '(anonymous)'}: {answers[0]}",
                answers[0].value in _REFUSED_FOR_GOOD,
            )
        return None
    finally:
        client.disconnect()
        client.loop_stop()
