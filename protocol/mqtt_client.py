"""Builds a paho-mqtt 2 client (MQTT 5, ``CallbackAPIVersion.VERSION2``) from ``MqttConfig``:
credentials, TLS, Last Will, reconnect backoff. Everything about the connection comes from
configuration; a bad setting raises ``MqttConfigError`` naming the key and the file.

The login and the persistent-session connect are shared with the aggregator, whose
``MqttSettings`` have the same ``MqttConnectionConfig`` fields."""

from __future__ import annotations

import ssl
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from protocol.settings import ConfigError, MqttConnectionConfig, TlsConfig


class MqttConfigError(ConfigError):
    """The MQTT section cannot be used; the message names the key (``mqtt -> ...``)."""


def read_password(config: MqttConnectionConfig) -> str | None:
    """``mqtt.password``, or the first line of ``mqtt.password_file`` (systemd credentials,
    Docker secrets), or None."""
    if config.password is not None and config.password_file is not None:
        raise MqttConfigError("mqtt -> password and mqtt -> password_file are both set; use one")
    if config.password_file is not None:
        try:
            text = config.password_file.read_text(encoding="utf-8")
        except OSError as error:
            raise MqttConfigError(
                f"mqtt -> password_file: cannot read {config.password_file}: "
                f"{error.strerror or error}"
            ) from None
        return text.splitlines()[0] if text else ""
    if config.password is not None:
        return config.password.get_secret_value()
    return None


def _existing_file(path: Path | None, key: str) -> str | None:
    if path is None:
        return None
    if not path.is_file():
        raise MqttConfigError(f"mqtt -> tls -> {key}: {path} is not a readable file")
    return str(path)


def configure_tls(client: mqtt.Client, tls: TlsConfig) -> None:
    """Server verification against ``ca_file`` (or the system store when it is unset), an
    optional client certificate, and ``insecure_skip_verify`` for test brokers only."""
    certificate = _existing_file(tls.certificate_file, "certificate_file")
    key = _existing_file(tls.key_file, "key_file")
    if (certificate is None) != (key is None):
        raise MqttConfigError("mqtt -> tls: certificate_file and key_file must be set together")
    try:
        client.tls_set(
            ca_certs=_existing_file(tls.ca_file, "ca_file"),
            certfile=certificate,
            keyfile=key,
            cert_reqs=ssl.CERT_NONE if tls.insecure_skip_verify else ssl.CERT_REQUIRED,
        )
    except (ssl.SSLError, OSError) as error:
        raise MqttConfigError(f"mqtt -> tls: cannot load the certificates: {error}") from None
    if tls.insecure_skip_verify:
        client.tls_insecure_set(True)


def configure_login(client: mqtt.Client, config: MqttConnectionConfig) -> None:
    """Username and password (or password file), and TLS when ``tls`` is set."""
    password = read_password(config)
    if password is not None and config.username is None:
        raise MqttConfigError("mqtt -> password is set but mqtt -> username is not")
    if config.username is not None:
        client.username_pw_set(config.username, password)
    if config.tls is not None:
        configure_tls(client, config.tls)


def connect_persistent(
    client: mqtt.Client,
    config: MqttConnectionConfig,
    *,
    session_expiry_seconds: int,
    receive_maximum: int | None = None,
) -> None:
    """``connect_async`` with ``clean_start=False``: the broker keeps the session, and queues
    QoS 1 messages for it, for ``session_expiry_seconds`` while the client is away."""
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = session_expiry_seconds
    if receive_maximum is not None:
        properties.ReceiveMaximum = receive_maximum
    client.connect_async(
        config.host,
        config.port,
        keepalive=config.keepalive_seconds,
        clean_start=False,
        properties=properties,
    )


def build_client(
    config: MqttConnectionConfig,
    *,
    max_inflight: int,
    client_id: str,
    will_topic: str,
    will_payload: str,
    reconnect_minimum_seconds: int,
    reconnect_maximum_seconds: int,
) -> mqtt.Client:
    """A client ready for ``connect_async``; the Last Will is ``will_payload``, retained,
    QoS 1, on ``will_topic``."""
    if not 0 < reconnect_minimum_seconds <= reconnect_maximum_seconds:
        raise ValueError(
            f"reconnect backoff {reconnect_minimum_seconds}..{reconnect_maximum_seconds} s"
            " must satisfy 0 < minimum <= maximum"
        )
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5,
    )
    configure_login(client, config)
    client.will_set(will_topic, will_payload, qos=1, retain=True)
    client.reconnect_delay_set(reconnect_minimum_seconds, reconnect_maximum_seconds)
    client.max_inflight_messages_set(max_inflight)
    return client
