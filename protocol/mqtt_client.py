"""The one home of paho-mqtt 2 (MQTT 5, ``CallbackAPIVersion.VERSION2``) for the edge's
publisher and the aggregator's consumer and API subscriber: login (password or password
file), TLS, the persistent-session connect, and ``MqttClientBase``, which owns the client,
its network loop, paho's callbacks and the logging of the connection's state.

Everything about the connection comes from ``MqttConnectionConfig`` (the edge's
``MqttConfig`` and the aggregator's ``MqttSettings`` share its fields); a bad setting raises
``MqttConfigError`` naming the key and the file."""

from __future__ import annotations

import logging
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

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


@dataclass(frozen=True)
class ConnectionState:
    connected: bool
    error: str | None
    """The last connection problem (or one a subclass recorded); None once connected again."""
    connections: int
    """Successful connections so far (1 after the first connect; more after reconnects)."""


class MqttClientBase:
    """One paho-mqtt 2 client (MQTT 5, ``CallbackAPIVersion.VERSION2``) and its connection:
    login and TLS, reconnect backoff, a clean or persistent session, the network loop, and
    paho's callbacks with one record and log of the connection's state (``connection_state``).

    paho's callbacks run on its network thread and never raise. A subclass adds what
    differs: ``_after_connect`` (subscriptions, waking a worker), ``_after_disconnect``, and
    ``_on_message``, ``_on_publish``, ``_on_subscribe`` (paho's signatures; by default they do
    nothing). It sets no callback on ``_client`` itself; its own small state may share
    ``_state_lock`` when it must change together with the connection's (e.g. acknowledgements
    that belong to one connection).
    """

    def __init__(
        self,
        config: MqttConnectionConfig,
        *,
        client_id: str,
        logger: logging.Logger,
        session_expiry_seconds: int | None,
        receive_maximum: int | None = None,
        reconnect_minimum_seconds: int,
        reconnect_maximum_seconds: int,
        client_class: type[mqtt.Client] = mqtt.Client,
        manual_ack: bool = False,
    ) -> None:
        """``session_expiry_seconds`` None: a clean session (``clean_start=True``), for a
        client whose state is retained on the broker; otherwise a persistent one (see
        ``connect_persistent``). ``logger`` is the subclass's, so its records keep their
        origin. Raises ``MqttConfigError`` for a bad login or TLS setting."""
        if not 0 < reconnect_minimum_seconds <= reconnect_maximum_seconds:
            raise ValueError(
                f"reconnect backoff {reconnect_minimum_seconds}..{reconnect_maximum_seconds} s"
                " must satisfy 0 < minimum <= maximum"
            )
        self.client_id = client_id
        self.address = f"{config.host}:{config.port}"
        self._connection_config = config
        self._log = logger
        self._session_expiry_seconds = session_expiry_seconds
        self._receive_maximum = receive_maximum
        self._reconnect_minimum_seconds = reconnect_minimum_seconds
        self._client = client_class(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=manual_ack,
        )
        configure_login(self._client, config)
        self._client.reconnect_delay_set(reconnect_minimum_seconds, reconnect_maximum_seconds)
        self._client.on_connect = self._on_connect
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_publish = self._on_publish
        self._client.on_subscribe = self._on_subscribe
        self._state_lock = threading.Lock()
        self._connected = False
        self._connections = 0
        self._error: str | None = None
        self._stopping = threading.Event()

    def connection_state(self) -> ConnectionState:
        with self._state_lock:
            return ConnectionState(self._connected, self._error, self._connections)

    # -- connecting and the network loop ---------------------------------------------------

    def _connect(self) -> None:
        """``connect_async``: the network loop makes the connection, and retries it."""
        if self._session_expiry_seconds is None:
            self._client.connect_async(
                self._connection_config.host,
                self._connection_config.port,
                keepalive=self._connection_config.keepalive_seconds,
                clean_start=True,
            )
            return
        connect_persistent(
            self._client,
            self._connection_config,
            session_expiry_seconds=self._session_expiry_seconds,
            receive_maximum=self._receive_maximum,
        )

    def _start_loop(self) -> None:
        """Connect in paho's own network thread, which reconnects with backoff."""
        self._connect()
        self._client.loop_start()

    def _run_network_loop(self) -> None:
        """paho's network loop in the calling thread until ``_disconnect``; a failure inside
        paho's loop is recorded and the loop restarted (paho's own thread would end)."""
        while not self._stopping.is_set():
            try:
                self._client.loop_forever(retry_first_connection=True)
            except Exception as error:  # paho failed inside its loop: keep the data flowing
                self._record_error(f"MQTT network loop for {self.address} failed: {error!r}")
            if self._stopping.wait(self._reconnect_minimum_seconds):
                return
            try:
                self._client.reconnect()
            except OSError:
                self._on_connect_fail(self._client, None)

    def _disconnect(self) -> None:
        """Disconnect on purpose (logged as such, not as an error) and end paho's network
        thread; a persistent session stays on the broker."""
        with self._state_lock:
            self._connected = False
        self._stopping.set()
        self._client.disconnect()
        self._client.loop_stop()

    # -- the connection's state --------------------------------------------------------------

    def _record_error(self, error: str, level: int = logging.WARNING) -> None:
        """The last problem, shown by ``connection_state``; logged when it changes, so a
        broker that keeps refusing is one line, not one per retry."""
        with self._state_lock:
            changed = error != self._error
            self._error = error
        if changed:
            self._log.log(level, "%s", error)

    def _after_connect(self, client: mqtt.Client, flags: mqtt.ConnectFlags) -> None:
        """Called on paho's thread after each successful connect."""

    def _after_disconnect(self) -> None:
        """Called on paho's thread after each disconnect, wanted or not."""

    # -- paho's callbacks ----------------------------------------------------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            self._record_error(
                f"MQTT broker {self.address} refused the connection: {reason_code}"
                " (check mqtt.username, mqtt.password / password_file and the broker's ACL)",
                logging.ERROR,
            )
            return
        with self._state_lock:
            self._connected = True
            self._connections += 1
            self._error = None
        self._after_connect(client, flags)
        # Logged once the subscriptions are queued: tests/integration/aggregator_harness.py
        # waits for "connected to MQTT ... (session new|resumed)".
        self._log.info(
            "connected to MQTT %s as %s (session %s)",
            self.address,
            self.client_id,
            "resumed" if flags.session_present else "new",
        )

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        self._record_error(
            f"cannot reach the MQTT broker at {self.address}; retrying with exponential backoff"
        )

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        """A refused connection also ends here; its error stays (it was never connected)."""
        with self._state_lock:
            was_connected, self._connected = self._connected, False
        if self._stopping.is_set():
            self._log.info("disconnected from the MQTT broker at %s", self.address)
        elif was_connected:
            self._record_error(
                f"lost the connection to the MQTT broker at {self.address} "
                f"({_disconnect_reason(reason_code)}); reconnecting"
            )
        self._after_disconnect()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        """A message arrived on a subscription."""

    def _on_publish(
        self,
        client: mqtt.Client,
        userdata: Any,
        message_id: int,
        reason_code: ReasonCode,
        properties: Properties,
    ) -> None:
        """The broker acknowledged one of our publishes (QoS 1: its PUBACK)."""

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        """The broker answered a SUBSCRIBE."""


UNSPECIFIED_ERROR = 128
"""paho's reason code when the socket closed without a DISCONNECT naming a reason."""


def _disconnect_reason(reason_code: ReasonCode) -> str:
    """What an operator should read: paho says "Unspecified error" when the broker stopped or
    the network dropped without a DISCONNECT packet."""
    if reason_code.value == UNSPECIFIED_ERROR:
        return "the broker stopped or the network dropped"
    return f"the broker said: {reason_code}"
