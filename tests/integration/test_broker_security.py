"""Reliability test 6 (security): the shipped ``deploy/mosquitto/mosquitto.conf`` with the
password and ACL files that ``footfall deploy credentials`` writes, on a real broker.

Only paths and the listener are adapted to a temp dir and a free loopback port; every rule
line (no anonymous clients, password file, ACL file) is used as shipped.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from footfall.deploy.credentials import (
    AGGREGATOR_USER,
    API_USER,
    OPERATOR_USER,
    store_user,
    write_credentials,
)
from footfall.local_services import LocalService, free_port

pytestmark = pytest.mark.integration

SHIPPED_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto" / "mosquitto.conf"
NOT_AUTHORIZED = 135
STORES = ["shop-a", "shop-b"]
# Long enough for a message the broker accepted to reach a subscriber on loopback.
SETTLE_SECONDS = 0.5


def adapt_config(shipped: str, port: int, auth: Path, data: Path) -> str:
    """The shipped config with its listener and paths moved; the rules stay as they are."""
    replacements = {
        r"^listener 1883$": f"listener {port} 127.0.0.1",
        r"^password_file .*$": f"password_file {auth / 'passwd'}",
        r"^acl_file .*$": f"acl_file {auth / 'acl'}",
        r"^persistence_location .*$": f"persistence_location {data}/",
    }
    adapted = shipped
    for pattern, replacement in replacements.items():
        adapted, count = re.subn(pattern, replacement, adapted, flags=re.MULTILINE)
        assert count == 1, f"shipped config has no single line matching {pattern}"
    return adapted


@dataclass
class Broker:
    service: LocalService
    passwords: dict[str, str]


@pytest.fixture(scope="module")
def broker() -> Iterator[Broker]:
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(binary).exists():
        pytest.skip("mosquitto is not installed (make setup installs it)")
    # Not under pytest's tmp root: that is root-only, and Mosquitto may run as its own user.
    directory = Path(tempfile.mkdtemp(prefix="footfall-secure-broker-"))
    write_credentials(directory / "secrets", STORES)
    auth, data = directory / "secrets" / "mosquitto", directory / "data"
    data.mkdir()
    port = free_port()
    config = adapt_config(SHIPPED_CONFIG.read_text(), port, auth, data)
    assert "allow_anonymous false" in config.splitlines()
    (directory / "mosquitto.conf").write_text(config)
    _give_to_mosquitto_user(directory)
    command = [binary, "-c", str(directory / "mosquitto.conf")]
    service = LocalService("mosquitto", command, directory, port)
    service.start()
    passwords = {
        path.stem: path.read_text().strip()
        for path in (directory / "secrets" / "passwords").glob("*.txt")
    }
    yield Broker(service, passwords)
    service.stop()
    shutil.rmtree(directory, ignore_errors=True)


def _give_to_mosquitto_user(directory: Path) -> None:
    """Started as root, Mosquitto drops to the ``mosquitto`` user before it reads the password
    file, as the Docker image does (README: chown to 1883): hand it the files likewise."""
    if os.geteuid() != 0:
        return
    try:
        user = pwd.getpwnam("mosquitto")
    except KeyError:
        return
    for path in [directory, *directory.rglob("*")]:
        os.chown(path, user.pw_uid, user.pw_gid)


@dataclass
class Session:
    """One MQTT 5 login: its CONNACK, the messages it received, its PUBACK reason codes."""

    client: mqtt.Client
    connack: ReasonCode | None = None
    received: list[tuple[str, bytes]] = field(default_factory=list)
    puback: dict[int, int] = field(default_factory=dict)
    connected: threading.Event = field(default_factory=threading.Event)

    def publish(self, topic: str, payload: bytes) -> int:
        """Publish at QoS 1 and return the broker's PUBACK reason code."""
        info = self.client.publish(topic, payload, qos=1)
        deadline = time.monotonic() + 5
        while info.mid not in self.puback and time.monotonic() < deadline:
            time.sleep(0.01)
        assert info.mid in self.puback, f"no PUBACK for {topic}"
        return self.puback[info.mid]

    def subscribe(self, topic: str) -> None:
        self.client.subscribe(topic, qos=1)

    def wait_for(self, topic: str, payload: bytes, timeout_seconds: float = 5) -> None:
        deadline = time.monotonic() + timeout_seconds
        while (topic, payload) not in self.received and time.monotonic() < deadline:
            time.sleep(0.01)
        assert (topic, payload) in self.received, f"{topic} {payload!r} never arrived"


@pytest.fixture
def login(broker: Broker) -> Iterator[Any]:
    sessions: list[Session] = []

    def connect(username: str | None, password: str | None = None) -> Session:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        session = Session(client)
        if username is not None:
            client.username_pw_set(username, password)

        def on_connect(*args: Any) -> None:
            session.connack = args[3]
            session.connected.set()

        client.on_connect = on_connect
        client.on_message = lambda _c, _u, message: session.received.append(
            (message.topic, bytes(message.payload))
        )
        client.on_publish = lambda _c, _u, mid, code, _p: session.puback.__setitem__(
            mid, code.value
        )
        client.connect("127.0.0.1", broker.service.port)
        client.loop_start()
        assert session.connected.wait(5), "no CONNACK within 5 s"
        sessions.append(session)
        return session

    def connect_as(user: str) -> Session:
        session = connect(user, broker.passwords[user])
        assert session.connack is not None
        assert not session.connack.is_failure, session.connack
        return session

    connect.as_user = connect_as  # type: ignore[attr-defined]
    yield connect
    for session in sessions:
        session.client.disconnect()
        session.client.loop_stop()


def counts(store: str, camera: str = "door") -> str:
    return f"footfall/v1/{store}/{camera}/counts"


def test_anonymous_client_is_refused(login: Any) -> None:
    session = login(None)
    assert session.connack.value == NOT_AUTHORIZED


def test_wrong_password_and_unknown_user_are_refused(login: Any, broker: Broker) -> None:
    wrong = login(store_user("shop-a"), broker.passwords[store_user("shop-b")])
    assert wrong.connack.value == NOT_AUTHORIZED
    unknown = login("store-shop-z", "guess")
    assert unknown.connack.value == NOT_AUTHORIZED


def test_aggregator_reads_every_store_through_a_shared_subscription(login: Any) -> None:
    aggregator = login.as_user(AGGREGATOR_USER)
    aggregator.subscribe("$share/footfall-aggregators/footfall/v1/+/+/counts")
    aggregator.subscribe("footfall/v1/+/+/health")
    aggregator.subscribe("footfall/v1/+/+/status")
    time.sleep(SETTLE_SECONDS)
    for store in STORES:
        device = login.as_user(store_user(store))
        for topic in (counts(store), f"footfall/v1/{store}/door/health"):
            assert device.publish(topic, store.encode()) == 0
        assert device.publish(f"footfall/v1/{store}/door/status", b"online") == 0
    for store in STORES:
        aggregator.wait_for(counts(store), store.encode())
        aggregator.wait_for(f"footfall/v1/{store}/door/health", store.encode())
        aggregator.wait_for(f"footfall/v1/{store}/door/status", b"online")
    assert len(aggregator.received) == 6


def test_store_device_cannot_publish_for_another_store_or_spoof_occupancy(login: Any) -> None:
    aggregator = login.as_user(AGGREGATOR_USER)
    aggregator.subscribe("$share/footfall-aggregators/footfall/v1/+/+/counts")
    aggregator.subscribe("footfall/v1/+/occupancy")
    api = login.as_user(API_USER)
    api.subscribe("footfall/v1/+/occupancy")
    time.sleep(SETTLE_SECONDS)
    device_a = login.as_user(store_user("shop-a"))
    forbidden = [
        counts("shop-b"),
        "footfall/v1/shop-b/door/status",
        "footfall/v1/shop-a/occupancy",
        "footfall/v1/shop-b/occupancy",
        "footfall/v1/dead-letter",
        "footfall/v1/aggregator/line-counts",
    ]
    for topic in forbidden:
        assert device_a.publish(topic, b"forged") == NOT_AUTHORIZED, topic
    assert device_a.publish(counts("shop-a"), b"genuine") == 0
    aggregator.wait_for(counts("shop-a"), b"genuine")  # after every forged one, same session
    time.sleep(SETTLE_SECONDS)
    assert aggregator.received == [(counts("shop-a"), b"genuine")]
    assert api.received == []


def test_live_crossings_go_from_a_store_to_every_aggregator_and_nowhere_else(login: Any) -> None:
    """Issue 9: a store's device may publish its own cameras' live crossings only; every
    aggregator replica reads them without a shared subscription."""
    replicas = [login.as_user(AGGREGATOR_USER), login.as_user(AGGREGATOR_USER)]
    for replica in replicas:
        replica.subscribe("footfall/v1/+/+/live")
    api = login.as_user(API_USER)
    api.subscribe("footfall/v1/+/+/live")
    time.sleep(SETTLE_SECONDS)
    device_a = login.as_user(store_user("shop-a"))
    assert device_a.publish("footfall/v1/shop-b/door/live", b"forged") == NOT_AUTHORIZED
    assert device_a.publish("footfall/v1/shop-a/door/live", b"crossing") == 0
    for replica in replicas:
        replica.wait_for("footfall/v1/shop-a/door/live", b"crossing")
        assert replica.received == [("footfall/v1/shop-a/door/live", b"crossing")]
    time.sleep(SETTLE_SECONDS)
    assert api.received == []


def test_store_device_reads_nothing_of_other_stores(login: Any) -> None:
    device_a = login.as_user(store_user("shop-a"))
    for topic in ("footfall/v1/#", "footfall/v1/shop-b/#", "$share/spy/footfall/v1/+/+/counts"):
        device_a.subscribe(topic)
    aggregator = login.as_user(AGGREGATOR_USER)
    aggregator.subscribe("$share/footfall-aggregators/footfall/v1/+/+/counts")
    time.sleep(SETTLE_SECONDS)
    device_b = login.as_user(store_user("shop-b"))
    assert device_b.publish(counts("shop-b"), b"b-counts") == 0
    assert aggregator.publish("footfall/v1/shop-b/occupancy", b"b-occupancy") == 0
    aggregator.wait_for(counts("shop-b"), b"b-counts")
    time.sleep(SETTLE_SECONDS)
    assert device_a.received == []


def test_aggregator_replicas_share_counts_on_their_own_topic(login: Any) -> None:
    replicas = [login.as_user(AGGREGATOR_USER) for _ in range(2)]
    for replica in replicas:
        replica.subscribe("footfall/v1/aggregator/line-counts")
    time.sleep(SETTLE_SECONDS)
    assert replicas[0].publish("footfall/v1/aggregator/line-counts", b"applied") == 0
    replicas[1].wait_for("footfall/v1/aggregator/line-counts", b"applied")


def test_api_login_is_read_only(login: Any) -> None:
    aggregator = login.as_user(AGGREGATOR_USER)
    aggregator.subscribe("footfall/v1/+/occupancy")
    api = login.as_user(API_USER)
    api.subscribe("footfall/v1/+/occupancy")
    time.sleep(SETTLE_SECONDS)
    assert api.publish("footfall/v1/shop-a/occupancy", b"forged") == NOT_AUTHORIZED
    assert api.publish(counts("shop-a"), b"forged") == NOT_AUTHORIZED
    assert aggregator.publish("footfall/v1/shop-a/occupancy", b"12") == 0
    api.wait_for("footfall/v1/shop-a/occupancy", b"12")
    aggregator.wait_for("footfall/v1/shop-a/occupancy", b"12")
    assert aggregator.received == [("footfall/v1/shop-a/occupancy", b"12")]


def test_operator_reads_retained_dead_letters_and_status_and_publishes_nothing(
    login: Any,
) -> None:
    aggregator = login.as_user(AGGREGATOR_USER)
    letter, status = "footfall/v1/dead-letter", "footfall/v1/aggregator/status/replica-1"
    for topic, payload in ((letter, b'{"reason": "bad_json"}'), (status, b'{"accepted": 3}')):
        aggregator.client.publish(topic, payload, qos=1, retain=True).wait_for_publish(5)
    try:
        operator = login.as_user(OPERATOR_USER)
        operator.subscribe("footfall/v1/#")  # arrives after the fact: the retained copies
        operator.wait_for(letter, b'{"reason": "bad_json"}')
        operator.wait_for(status, b'{"accepted": 3}')
        for topic in (letter, counts("shop-a"), "footfall/v1/shop-a/occupancy"):
            assert operator.publish(topic, b"forged") == NOT_AUTHORIZED, topic
        api = login.as_user(API_USER)
        api.subscribe("footfall/v1/aggregator/status/+")
        api.wait_for(status, b'{"accepted": 3}')
    finally:
        for topic in (letter, status):
            aggregator.client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)


def test_http_api_reads_live_occupancy_with_its_own_login(login: Any, broker: Broker) -> None:
    from fastapi.testclient import TestClient

    from aggregator.api.app import create_app
    from aggregator.config import AggregatorConfig
    from protocol.messages import StoreOccupancy

    occupancy = StoreOccupancy(
        store_id="shop-a",
        time_utc=datetime.now(UTC),
        business_day="2030-01-01",
        occupancy=17,
        entries_today=40,
        exits_today=23,
        capacity=20,
    )
    aggregator = login.as_user(AGGREGATOR_USER)
    topic = "footfall/v1/shop-a/occupancy"
    aggregator.client.publish(topic, occupancy.model_dump_json(), qos=1, retain=True)
    config = AggregatorConfig.model_validate(
        {
            "mqtt": {
                "port": broker.service.port,
                "username": API_USER,
                "password": broker.passwords[API_USER],
            },
            "stores": [{"id": "shop-a"}],
        }
    )
    try:
        with TestClient(create_app(config)) as client:
            deadline = time.monotonic() + 5
            response = client.get("/stores/shop-a/occupancy")
            while response.status_code != 200 and time.monotonic() < deadline:
                time.sleep(0.05)
                response = client.get("/stores/shop-a/occupancy")
            assert response.status_code == 200, response.text
            assert (response.json()["occupancy"], response.json()["entries_today"]) == (17, 40)
            assert client.get("/health").json()["mqtt_connected"] is True
    finally:
        aggregator.client.publish(topic, b"", qos=1, retain=True)  # clear it for other tests
