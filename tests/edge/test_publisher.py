"""The MQTT publisher against real Mosquitto brokers: ordering, exactly the submitted
sequences, retained status and Last Will, health, a broker killed with ``kill -9`` and
restarted, an unreachable broker, bad credentials, ACL refusals, TLS, and the quota merge
end to end. A real paho client subscribes and records what arrives."""

from __future__ import annotations

import os
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from pydantic import SecretStr

from edge.config import MqttConfig, TlsConfig
from edge.interval_merge import covered_starts
from edge.messages import CameraHealth, CameraStatus, CountInterval
from edge.mqtt_connection import MqttConfigError
from edge.outbox import Outbox
from edge.publisher import MqttPublisher
from footfall.local_services import LocalService, free_port, mosquitto
from tests.edge.test_outbox import make_interval

STORE = "store-1"
CAMERA = "door"
# Mosquitto started as root drops to the ``mosquitto`` user, which cannot read the test's
# password file or write its persistence file under pytest's private temp dir.
KEEP_PRIVILEGES = "user root\n" if os.geteuid() == 0 else ""


class Collector:
    """A real subscriber (MQTT 5, QoS 1, persistent session) recording every message."""

    def __init__(
        self,
        port: int,
        topic: str = "footfall/v1/#",
        login: tuple[str, str] | None = None,
        client_id: str | None = None,
    ) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self._topic = topic
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"collector-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv5,
        )
        self.client.reconnect_delay_set(1, 1)
        if login is not None:
            self.client.username_pw_set(*login)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = 3600
        self.client.connect(
            "127.0.0.1", port, keepalive=5, clean_start=False, properties=properties
        )
        self.client.loop_start()
        assert self._subscribed.wait(10), f"collector could not subscribe on port {port}"

    def _on_connect(self, client: mqtt.Client, *_: object) -> None:
        client.subscribe(self._topic, qos=1)

    def _on_subscribe(self, *_: object) -> None:
        self._subscribed.set()

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((message.topic, bytes(message.payload), message.retain))

    def payloads(self, suffix: str) -> list[bytes]:
        with self._lock:
            return [payload for topic, payload, _ in self.messages if topic.endswith(suffix)]

    def counts(self) -> list[CountInterval]:
        return [CountInterval.model_validate_json(payload) for payload in self.payloads("/counts")]

    def unique_counts(self) -> dict[int, CountInterval]:
        """By sequence; a redelivered sequence must carry the identical payload."""
        unique: dict[int, CountInterval] = {}
        for message in self.counts():
            assert unique.setdefault(message.sequence, message) == message
        return unique

    def wait_until(self, condition: Callable[[], bool], timeout_seconds: float) -> bool:
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.05)
        return condition()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def retained_status(port: int, topic: str) -> CameraStatus:
    """What a new subscriber sees first on the status topic."""
    collector = Collector(port, topic)
    try:
        assert collector.wait_until(lambda: bool(collector.payloads("/status")), 5)
        return CameraStatus.model_validate_json(collector.payloads("/status")[0])
    finally:
        collector.close()


@pytest.fixture
def make_publisher(tmp_path: Path) -> Iterator[Callable[..., MqttPublisher]]:
    """Builds started publishers (fresh outbox each unless given) and stops them afterwards."""
    started: list[MqttPublisher] = []

    def build(
        port: int,
        outbox: Outbox | None = None,
        config: dict[str, object] | None = None,
    ) -> MqttPublisher:
        publisher = MqttPublisher(
            MqttConfig.model_validate({"port": port, "keepalive_seconds": 5, **(config or {})}),
            STORE,
            CAMERA,
            outbox or Outbox(tmp_path / f"outbox-{len(started)}.sqlite3", 1 << 20),
            software_version="0.1.0",
        )
        publisher.start()
        started.append(publisher)
        return publisher

    yield build
    for publisher in started:
        publisher.stop(timeout_seconds=0.5)


def own_broker(directory: Path, autosave_seconds: int = 1) -> LocalService:
    """A broker on a fixed port, so it can be restarted where clients expect it. It saves
    its state every ``autosave_seconds``, so subscriptions survive a crash."""
    broker = mosquitto(
        directory,
        free_port(),
        f"allow_anonymous true\nautosave_interval {autosave_seconds}\n{KEEP_PRIVILEGES}",
    )
    broker.start()
    return broker


def test_intervals_arrive_in_order_exactly_once_with_retained_status(
    mosquitto_server: LocalService, make_publisher: Callable[..., MqttPublisher]
) -> None:
    collector = Collector(mosquitto_server.port)
    publisher = make_publisher(mosquitto_server.port)
    submitted = [
        publisher.submit_interval(make_interval(index, entries=index % 4)) for index in range(300)
    ]
    assert publisher.flush(20)
    assert collector.wait_until(lambda: len(collector.counts()) >= 300, 10)
    received = collector.counts()
    assert [message.sequence for message in received] == list(range(300))
    assert received == submitted
    status = retained_status(mosquitto_server.port, publisher.status_topic)
    assert status.state == "online"
    assert publisher.status().outbox_depth == 0
    assert publisher.stop(timeout_seconds=2)
    assert retained_status(mosquitto_server.port, publisher.status_topic).state == "offline"
    collector.close()


def test_health_carries_the_outbox_figures(
    mosquitto_server: LocalService, make_publisher: Callable[..., MqttPublisher]
) -> None:
    collector = Collector(mosquitto_server.port)
    publisher = make_publisher(mosquitto_server.port)
    publisher.submit_interval(make_interval(0))
    assert publisher.flush(5)
    health = CameraHealth(
        store_id=STORE,
        camera_id=CAMERA,
        time_utc=datetime.now(UTC),
        source_state="streaming",
        frames_per_second=12.5,
        frames_processed=900,
        frames_dropped=3,
        detector_milliseconds=41.0,
        outbox_depth=publisher.status().outbox_depth,
        outbox_bytes=0,
        last_publish_utc=publisher.last_acknowledged_utc,
        software_version="0.1.0",
    )
    assert publisher.publish_health(health)
    assert collector.wait_until(lambda: len(collector.payloads("/health")) == 1, 5)
    received = CameraHealth.model_validate_json(collector.payloads("/health")[0])
    assert received == health
    assert received.outbox_depth == 0
    assert received.last_publish_utc is not None
    with pytest.raises(ValueError, match="health of store-1/aisle given to the publisher"):
        publisher.publish_health(health.model_copy(update={"camera_id": "aisle"}))
    collector.close()


def test_broker_killed_mid_stream_every_interval_arrives(
    tmp_path: Path, make_publisher: Callable[..., MqttPublisher]
) -> None:
    broker = own_broker(tmp_path / "broker")
    collector = Collector(broker.port)
    time.sleep(1.2)  # let the broker save the collector's subscription
    outbox = Outbox(tmp_path / "outbox.sqlite3", 1 << 20, keep_acknowledged_seconds=60)
    publisher = make_publisher(broker.port, outbox)
    entries_by_start = {}
    for index in range(400):
        if index == 200:
            broker.kill()
        if index == 260:
            broker.start()
        stored = publisher.submit_interval(make_interval(index, entries=1 + index % 3))
        entries_by_start[stored.interval_start_utc] = stored.lines["entrance"].entries
        time.sleep(0.005)
    assert publisher.flush(20), publisher.status()
    assert collector.wait_until(lambda: len(collector.unique_counts()) >= 400, 20)
    unique = collector.unique_counts()
    assert set(unique) == set(range(400))
    delivered = {m.interval_start_utc: m.lines["entrance"].entries for m in unique.values()}
    assert delivered == entries_by_start
    assert sum(delivered.values()) == sum(1 + index % 3 for index in range(400))
    assert publisher.status().connections >= 2
    collector.close()
    publisher.stop(1)
    broker.stop()


@pytest.mark.parametrize(("keep_acknowledged_seconds", "expected"), [(60, 100), (0, 0)])
def test_resending_acknowledged_covers_a_broker_crash_that_lost_its_queue(
    tmp_path: Path,
    make_publisher: Callable[..., MqttPublisher],
    keep_acknowledged_seconds: float,
    expected: int,
) -> None:
    """The subscriber (an aggregator) is offline; the broker acknowledges 100 intervals,
    queues them in memory for it, and is killed before saving them. Only the publisher's
    re-send of recently acknowledged intervals brings them back (without it: 0 arrive)."""
    broker = own_broker(tmp_path / "broker", autosave_seconds=3600)
    Collector(broker.port, client_id="aggregator").close()
    broker.stop()  # a clean stop saves the aggregator's session and subscription
    broker.start()
    outbox = Outbox(tmp_path / "outbox.sqlite3", 1 << 20, keep_acknowledged_seconds)
    publisher = make_publisher(broker.port, outbox)
    for index in range(100):
        publisher.submit_interval(make_interval(index))
    assert publisher.flush(10)
    broker.kill()
    broker.start()
    collector = Collector(broker.port, client_id="aggregator")
    assert collector.wait_until(lambda: publisher.status().connections >= 2, 10)
    collector.wait_until(lambda: len(collector.unique_counts()) >= 100, 2)
    assert len(collector.unique_counts()) == expected
    collector.close()
    publisher.stop(1)
    broker.stop()


def test_unreachable_broker_keeps_data_then_delivers_merged_totals(
    tmp_path: Path, make_publisher: Callable[..., MqttPublisher]
) -> None:
    """Down broker: a clear error state, no crash; the small quota forces merges; once the
    broker is up everything arrives and the totals are exact."""
    port = free_port()
    outbox = Outbox(tmp_path / "outbox.sqlite3", quota_bytes=8 * 1024)
    publisher = make_publisher(port, outbox)
    submitted = [
        publisher.submit_interval(make_interval(index, entries=index % 5)) for index in range(100)
    ]
    assert not publisher.flush(1.5)
    status = publisher.status()
    assert not status.connected
    assert status.error is not None
    assert f"cannot reach the MQTT broker at 127.0.0.1:{port}" in status.error
    assert 1 < outbox.depth() < 100  # merged, not dropped
    broker = mosquitto(tmp_path / "broker", port)
    broker.start()
    collector = Collector(port)
    assert publisher.flush(15), publisher.status()
    assert collector.wait_until(
        lambda: sum(len(covered_starts(m)) for m in collector.unique_counts().values()) >= 100, 5
    )
    received = list(collector.unique_counts().values())
    assert sum(m.lines["entrance"].entries for m in received) == sum(
        index % 5 for index in range(100)
    )
    starts = sorted(start for message in received for start in covered_starts(message))
    assert starts == [message.interval_start_utc for message in submitted]
    assert publisher.status().error is None
    collector.close()
    publisher.stop(1)
    broker.stop()


@pytest.fixture
def secured_broker(tmp_path: Path) -> Iterator[LocalService]:
    """Password login, and an ACL that lets ``edge`` write only to its own camera."""
    directory = tmp_path / "secured"
    directory.mkdir()
    passwords = directory / "passwords"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(passwords), "edge", "secret"], check=True)
    subprocess.run(["mosquitto_passwd", "-b", str(passwords), "reader", "reader"], check=True)
    acl = directory / "acl"
    acl.write_text(
        f"user edge\ntopic write footfall/v1/{STORE}/{CAMERA}/#\n"
        "user reader\ntopic read footfall/v1/#\n"
    )
    broker = mosquitto(
        directory,
        extra_config=(
            f"allow_anonymous false\npassword_file {passwords}\nacl_file {acl}\n{KEEP_PRIVILEGES}"
        ),
    )
    broker.start()
    yield broker
    broker.stop()


def wait_for_error(publisher: MqttPublisher, fragment: str, timeout_seconds: float = 5) -> str:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        error = publisher.status().error
        if error is not None and fragment in error:
            return error
        time.sleep(0.05)
    raise AssertionError(f"no error containing {fragment!r}; status {publisher.status()}")


def test_bad_password_is_an_error_state_and_the_data_stays(
    secured_broker: LocalService, make_publisher: Callable[..., MqttPublisher]
) -> None:
    publisher = make_publisher(
        secured_broker.port, config={"username": "edge", "password": SecretStr("wrong")}
    )
    for index in range(3):
        publisher.submit_interval(make_interval(index))
    error = wait_for_error(publisher, "refused the connection")
    assert f"MQTT broker 127.0.0.1:{secured_broker.port}" in error
    assert "Bad user name or password" in error or "Not authorized" in error
    assert not publisher.flush(0.5)
    assert publisher.status().outbox_depth == 3


def test_password_file_login_delivers(
    tmp_path: Path, secured_broker: LocalService, make_publisher: Callable[..., MqttPublisher]
) -> None:
    password_file = tmp_path / "mqtt-password"
    password_file.write_text("secret\n")
    collector = Collector(secured_broker.port, login=("reader", "reader"))
    publisher = make_publisher(
        secured_broker.port, config={"username": "edge", "password_file": password_file}
    )
    publisher.submit_interval(make_interval(0, entries=7))
    assert publisher.flush(5), publisher.status()
    assert collector.wait_until(lambda: len(collector.counts()) == 1, 5)
    assert collector.counts()[0].lines["entrance"].entries == 7
    collector.close()


def test_message_refused_by_the_acl_stays_in_the_outbox(
    secured_broker: LocalService, make_publisher: Callable[..., MqttPublisher]
) -> None:
    publisher = make_publisher(
        secured_broker.port,
        config={"username": "edge", "password": SecretStr("secret"), "topic_root": "elsewhere/v1"},
    )
    publisher.submit_interval(make_interval(0))
    error = wait_for_error(publisher, "refused 1 count message(s)")
    assert "elsewhere/v1/store-1/door/counts" in error
    assert "sequence 0" in error
    assert publisher.status().outbox_depth == 1


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throw-away CA and a server certificate for 127.0.0.1 (openssl CLI)."""
    directory = tmp_path_factory.mktemp("tls")

    def openssl(*arguments: str) -> None:
        subprocess.run(["openssl", *arguments], cwd=directory, check=True, capture_output=True)

    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=footfall test CA",
    )
    openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    )
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "san.ext",
    )
    return directory


def test_tls_from_configuration_only(
    tmp_path: Path, certificates: Path, make_publisher: Callable[..., MqttPublisher]
) -> None:
    broker = mosquitto(
        tmp_path / "tls-broker",
        extra_config=(
            f"allow_anonymous true\ncertfile {certificates / 'server.crt'}\n"
            f"keyfile {certificates / 'server.key'}\n{KEEP_PRIVILEGES}"
        ),
    )
    broker.start()
    trusted = make_publisher(
        broker.port, config={"tls": TlsConfig(ca_file=certificates / "ca.crt")}
    )
    trusted.submit_interval(make_interval(0))
    assert trusted.flush(5), trusted.status()
    untrusted = make_publisher(broker.port, config={"tls": TlsConfig()})  # system CAs only
    untrusted.submit_interval(make_interval(0))
    assert "cannot reach the MQTT broker" in wait_for_error(untrusted, "cannot reach")
    assert untrusted.status().outbox_depth == 1
    trusted.stop(1)
    untrusted.stop(0.1)
    broker.stop()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"username": "edge", "password": SecretStr("a"), "password_file": Path("/nonexistent")},
            "mqtt -> password and mqtt -> password_file are both set",
        ),
        (
            {"username": "edge", "password_file": Path("/nonexistent/pw")},
            "cannot read /nonexistent/pw",
        ),
        ({"password": SecretStr("a")}, "mqtt -> password is set but mqtt -> username is not"),
        ({"tls": TlsConfig(ca_file=Path("/nonexistent/ca.crt"))}, "ca_file: /nonexistent/ca.crt"),
        (
            {"tls": TlsConfig(certificate_file=Path(__file__))},
            "certificate_file and key_file must be set together",
        ),
    ],
)
def test_unusable_mqtt_settings_name_the_key(
    tmp_path: Path, options: dict[str, object], message: str
) -> None:
    with pytest.raises(MqttConfigError, match=message):
        MqttPublisher(
            MqttConfig.model_validate(options),
            STORE,
            CAMERA,
            Outbox(tmp_path / "o.sqlite3", 1 << 20),
            software_version="0.1.0",
        )
