"""The MQTT consumer against a real Mosquitto: manual acks, persistent sessions, shared
subscriptions between replicas, and acknowledgements that never cross connections."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from aggregator.config import MqttSettings
from aggregator.ingest.consumer import AckToken, LeanPublishClient, MqttConsumer
from footfall.local_services import LocalService


class Inbox:
    """Messages a consumer received; optionally acknowledges them right away."""

    def __init__(self, acknowledge: bool) -> None:
        self.acknowledge = acknowledge
        self.payloads: list[bytes] = []
        self.tokens: list[AckToken] = []
        self.consumer: MqttConsumer | None = None
        self._lock = threading.Lock()

    def __call__(self, topic: str, payload: bytes, token: AckToken) -> None:
        with self._lock:
            self.payloads.append(payload)
            self.tokens.append(token)
        if self.acknowledge and self.consumer is not None:
            self.consumer.ack([token])

    def wait_for(self, count: int, timeout_seconds: float = 10) -> list[bytes]:
        deadline = time.monotonic() + timeout_seconds
        while len(self.payloads) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.payloads)


@pytest.fixture
def settings(mosquitto_server: LocalService) -> MqttSettings:
    unique = uuid.uuid4().hex[:8]
    return MqttSettings(
        port=mosquitto_server.port,
        topic_root=f"test-{unique}/v1",
        share_group=f"group-{unique}",
        client_id=f"aggregator-{unique}",
    )


@pytest.fixture
def start_consumer(
    settings: MqttSettings,
) -> Iterator[Callable[..., tuple[MqttConsumer, Inbox]]]:
    running: list[MqttConsumer] = []

    def start(acknowledge: bool = True, client_id: str | None = None) -> tuple[MqttConsumer, Inbox]:
        inbox = Inbox(acknowledge)
        consumer = MqttConsumer(settings, inbox, client_id=client_id)
        inbox.consumer = consumer
        consumer.start()
        assert consumer.connected.wait(10), "consumer did not connect"
        time.sleep(0.2)  # let the SUBACK arrive before anything is published
        running.append(consumer)
        return consumer, inbox

    yield start
    for consumer in running:
        consumer.stop()


@pytest.fixture
def publish(
    mosquitto_server: LocalService, settings: MqttSettings
) -> Iterator[Callable[..., None]]:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", mosquitto_server.port)
    client.loop_start()

    def send(count: int, first: int = 0, camera: str = "door") -> None:
        for number in range(first, first + count):
            topic = f"{settings.topic_root}/store-1/{camera}/counts"
            client.publish(topic, str(number).encode(), qos=1).wait_for_publish(10)

    yield send
    client.loop_stop()
    client.disconnect()


def test_message_not_acknowledged_is_redelivered_after_restart(
    start_consumer: Callable[..., tuple[MqttConsumer, Inbox]], publish: Callable[..., None]
) -> None:
    consumer, inbox = start_consumer(acknowledge=False)
    publish(3)
    assert inbox.wait_for(3) == [b"0", b"1", b"2"]
    consumer.ack(inbox.tokens[:1])  # only the first one is durable
    time.sleep(0.2)
    consumer.stop()

    consumer, inbox = start_consumer(acknowledge=True)
    assert inbox.wait_for(2) == [b"1", b"2"]
    time.sleep(0.5)
    assert inbox.payloads == [b"1", b"2"]
    consumer.stop()

    _, inbox = start_consumer(acknowledge=True)
    time.sleep(0.5)
    assert inbox.payloads == []


def test_messages_sent_while_the_aggregator_is_down_wait_for_it(
    start_consumer: Callable[..., tuple[MqttConsumer, Inbox]], publish: Callable[..., None]
) -> None:
    consumer, _ = start_consumer()
    consumer.stop()
    publish(50)
    _, inbox = start_consumer()
    assert inbox.wait_for(50) == [str(number).encode() for number in range(50)]


def test_two_replicas_split_the_messages(
    start_consumer: Callable[..., tuple[MqttConsumer, Inbox]],
    publish: Callable[..., None],
    settings: MqttSettings,
) -> None:
    _, first = start_consumer(client_id=settings.client_id + "-1")
    _, second = start_consumer(client_id=settings.client_id + "-2")
    publish(200)
    deadline = time.monotonic() + 10
    while len(first.payloads) + len(second.payloads) < 200 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(first.payloads) + len(second.payloads) == 200
    assert set(first.payloads).isdisjoint(second.payloads)
    assert min(len(first.payloads), len(second.payloads)) >= 50


def test_acks_of_an_earlier_connection_are_discarded(
    start_consumer: Callable[..., tuple[MqttConsumer, Inbox]], publish: Callable[..., None]
) -> None:
    consumer, inbox = start_consumer(acknowledge=False)
    publish(1)
    inbox.wait_for(1)
    stale = AckToken(inbox.tokens[0].generation - 1, inbox.tokens[0].mid, 1)
    consumer.ack([stale, inbox.tokens[0]])
    assert (consumer.acks_discarded, consumer.acks_sent) == (1, 1)


def test_topics_outside_the_three_kinds_are_not_received(
    start_consumer: Callable[..., tuple[MqttConsumer, Inbox]],
    mosquitto_server: LocalService,
    settings: MqttSettings,
) -> None:
    _, inbox = start_consumer()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", mosquitto_server.port)
    client.loop_start()
    root = settings.topic_root
    for topic in [f"{root}/s/c/frames", f"{root}/s/occupancy", f"{root}/s/c/health"]:
        client.publish(topic, topic.encode(), qos=1).wait_for_publish(10)
    assert inbox.wait_for(1) == [f"{root}/s/c/health".encode()]
    time.sleep(0.3)
    assert len(inbox.payloads) == 1
    client.loop_stop()
    client.disconnect()


def _publish_packet(
    topic: bytes, payload: bytes, qos: int, properties: bytes, dup: bool, retain: bool
) -> tuple[int, bytes]:
    header = 0x30 | (0x08 if dup else 0) | qos << 1 | (0x01 if retain else 0)
    mid = b"\x12\x34" if qos else b""
    body = len(topic).to_bytes(2, "big") + topic + mid + bytes([len(properties)]) + properties
    return header, body + payload


@pytest.mark.parametrize(
    ("qos", "properties", "dup", "retain"),
    [
        (1, b"", False, False),
        (1, b"", True, True),
        (1, b"\x01\x01", False, False),  # payload format indicator: paho's decoder
        (0, b"", False, True),
    ],
)
def test_lean_publish_decoder_agrees_with_paho(
    qos: int, properties: bytes, dup: bool, retain: bool
) -> None:
    header, packet = _publish_packet(
        b"footfall/v1/store 1/door/counts", b'{"x": 1}', qos, properties, dup, retain
    )
    decoded: dict[str, tuple[object, ...]] = {}
    for name, client_class in [("paho", mqtt.Client), ("lean", LeanPublishClient)]:
        client = client_class(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5, manual_ack=True)
        client.on_message = lambda _client, _userdata, message, name=name: decoded.__setitem__(
            name,
            (message.topic, message.payload, message.mid, message.qos, message.dup, message.retain),
        )
        client._in_packet["command"] = header
        client._in_packet["packet"] = bytearray(packet)
        client._handle_publish()
    assert decoded["lean"] == decoded["paho"]
    assert decoded["lean"][1] == b'{"x": 1}'
