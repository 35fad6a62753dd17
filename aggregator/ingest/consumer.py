"""The MQTT side of the aggregator: a persistent MQTT 5 session with manual acknowledgements.

* Subscribes to ``$share/<group>/<root>/+/+/{counts,health,status}`` at QoS 1, so replicas in
  one share group split the messages between them.
* ``clean_start=False`` with a session expiry: while the aggregator is down the broker queues
  its messages (and its share of a shared subscription) and delivers them when it returns.
  Each replica therefore needs a stable, unique client id.
* ``manual_ack=True``: paho does not PUBACK a message when the callback returns; the service
  calls :meth:`MqttConsumer.ack` once the message's points are durable. Until then the broker
  keeps the message and redelivers it after a reconnect. Acknowledgements are sent in the
  order messages arrived (MQTT 5, 4.6) and only on the connection that delivered them: packet
  ids are per connection, so acks still pending when a connection drops are discarded and the
  redelivered copies are acknowledged instead.

The connection, paho's connect/disconnect callbacks and their logging are
``protocol.mqtt_client.MqttClientBase``'s; this class adds the subscriptions, the messages and
their acknowledgements.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple, cast

import paho.mqtt.client as mqtt
from paho.mqtt.client import PUBACK
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from aggregator.config import MqttSettings
from protocol.mqtt_client import MqttClientBase
from protocol.topics import CAMERA_TOPIC_KINDS, LIVE, camera_filter, shared_subscription

log = logging.getLogger(__name__)

RECEIVE_MAXIMUM = 65_535
"""Unacknowledged messages the broker may send us (MQTT 5 maximum): a full batch in flight."""
DEFAULT_SESSION_EXPIRY_SECONDS = 7 * 24 * 3600
"""How long the broker keeps the session (and queues messages) while a replica is down."""


class LeanPublishClient(mqtt.Client):
    """paho's client with a lean decoder for the one packet the aggregator receives in bulk.

    Profiling the aggregator showed paho's generic PUBLISH decoding (a ``Properties`` object
    built and cleared per message, ``struct`` format strings built per call, debug logging)
    as the largest single cost: about half of the MQTT thread. A QoS 1 PUBLISH without MQTT 5
    properties, which is what edge devices send, is decoded here directly; anything else
    (QoS 0 or 2, properties present, a malformed packet) goes to paho's own decoder. This
    overrides a private method of paho 2.x (pinned ``<3``); ``tests/aggregator/
    test_consumer.py`` compares both decoders on real packets.
    """

    def _handle_publish(self) -> MQTTErrorCode:
        header: int = self._in_packet["command"]
        packet: bytes | bytearray = self._in_packet["packet"]
        topic_end = 2 + (packet[0] << 8 | packet[1]) if len(packet) >= 2 else 0
        if (header & 0x06) != 0x02 or len(packet) < topic_end + 3 or packet[topic_end + 2]:
            return super()._handle_publish()
        mid = packet[topic_end] << 8 | packet[topic_end + 1]
        message = mqtt.MQTTMessage(mid=mid, topic=bytes(packet[2:topic_end]))
        message.dup = bool(header & 0x08)
        message.qos = 1
        message.retain = bool(header & 0x01)
        message.payload = bytes(packet[topic_end + 3 :])
        message.timestamp = time.monotonic()
        self._handle_on_message(message)
        if self._manual_ack:
            return MQTTErrorCode.MQTT_ERR_SUCCESS
        return self._send_puback(mid)

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        """Read packets until the socket has no more (at most 1,000), instead of paho's one
        packet per ``select()`` round trip through the network loop."""
        for _ in range(1000):
            if self._sock is None:
                return MQTTErrorCode.MQTT_ERR_NO_CONN
            result = self._packet_read()
            if result > 0:
                return self._loop_rc_handle(result)
            if result == MQTTErrorCode.MQTT_ERR_AGAIN:
                break
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def acknowledge_all(self, mids: list[int]) -> None:
        """PUBACK (success, no properties) for ``mids`` in order, queued as one write instead
        of one queued packet, wake-up and ``send`` per message (manual_ack=True only)."""
        if mids:
            blob = b"".join([_PUBACK_HEADER + mid.to_bytes(2, "big") for mid in mids])
            self._packet_queue(PUBACK, blob, 0, 0)


_PUBACK_HEADER = bytes([PUBACK, 2])


class AckToken(NamedTuple):
    """Identifies a received message on the connection that delivered it (a tuple: one is
    made per message on the hot path)."""

    generation: int
    """The connection's number (``ConnectionState.connections`` when it arrived)."""
    mid: int
    qos: int


MessageHandler = Callable[[str, bytes, AckToken], None]


def shared_topics(settings: MqttSettings) -> list[str]:
    return [
        shared_subscription(settings.share_group, camera_filter(kind, settings.topic_root))
        for kind in CAMERA_TOPIC_KINDS
    ]


class MqttConsumer(MqttClientBase):
    """Receives edge messages and acknowledges them when told to; also publishes.

    ``connected`` is set once connected and subscribed, cleared on a disconnect."""

    def __init__(
        self,
        settings: MqttSettings,
        handler: MessageHandler,
        *,
        client_id: str | None = None,
        session_expiry_seconds: int = DEFAULT_SESSION_EXPIRY_SECONDS,
        extra_topics: Iterable[str] = (),
        live_crossings: bool = False,
    ) -> None:
        """``extra_topics``: QoS 1, not shared, not our own messages (replica sync).
        ``live_crossings``: also every camera's live topic, at QoS 0 and not shared: every
        replica takes every live crossing, and the broker queues none while it is away."""
        self.settings = settings
        self._handler = handler
        self._topics = shared_topics(settings)
        self._extra_topics = list(extra_topics)
        self._live_topics = [camera_filter(LIVE, settings.topic_root)] if live_crossings else []
        self._subscribe_mid: int | None = None
        self.connected = threading.Event()
        self.acks_sent = 0
        self.acks_discarded = 0
        super().__init__(
            settings,
            client_id=client_id or settings.client_id,
            logger=log,
            session_expiry_seconds=session_expiry_seconds,
            receive_maximum=RECEIVE_MAXIMUM,
            reconnect_minimum_seconds=1,
            reconnect_maximum_seconds=30,
            client_class=LeanPublishClient,
            manual_ack=True,
        )
        self._lean_client = cast(LeanPublishClient, self._client)
        # Our own QoS 1 publishes (occupancy, dead letters, replica sync): at most 20 in
        # flight, Mosquitto's default Receive Maximum; paho queues the rest in order.
        self._client.max_inflight_messages_set(20)
        self._client.max_queued_messages_set(0)

    def start(self) -> None:
        """Connect in the background; paho reconnects with backoff whenever the link drops."""
        self._start_loop()

    def stop(self) -> None:
        """Disconnect cleanly; the broker keeps the session and queues messages meanwhile."""
        self._disconnect()
        self.connected.clear()

    def ack(self, tokens: Sequence[AckToken]) -> None:
        """Acknowledge durable messages, in order; tokens of an earlier connection are dropped
        (the broker has redelivered those messages on the current one). Under the
        connection's state lock, so no reconnect comes between the check and the PUBACKs."""
        with self._state_lock:
            current: list[int] = []
            for token in tokens:
                if token.qos == 0:  # nothing to acknowledge (we subscribe at QoS 1)
                    continue
                if self._connected and token.generation == self._connections:
                    current.append(token.mid)
                else:
                    self.acks_discarded += 1
            self._lean_client.acknowledge_all(current)
            self.acks_sent += len(current)

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """QoS 1 publish; paho queues it while disconnected and sends it after reconnecting."""
        self._client.publish(topic, payload, qos=1, retain=retain)

    # -- paho's callbacks (see MqttClientBase) ----------------------------------------------

    def _after_connect(self, client: mqtt.Client, flags: mqtt.ConnectFlags) -> None:
        subscriptions: list[tuple[str, SubscribeOptions]] = [
            (topic, SubscribeOptions(qos=1)) for topic in self._topics
        ]
        subscriptions += [
            (topic, SubscribeOptions(qos=1, noLocal=True)) for topic in self._extra_topics
        ]
        subscriptions += [(topic, SubscribeOptions(qos=0)) for topic in self._live_topics]
        _, self._subscribe_mid = client.subscribe(subscriptions)

    def _after_disconnect(self) -> None:
        self.connected.clear()

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        if mid != self._subscribe_mid:
            return
        refused = [str(code) for code in reason_codes if code.is_failure]
        if refused:
            log.error("broker refused subscriptions %s: %s", self._topics, refused)
        self.connected.set()  # subscribed: a message published from now on reaches us

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        token = AckToken(self._connections, message.mid, message.qos)
        try:
            topic = message.topic
        except UnicodeDecodeError:
            topic = "\ufffd"  # validation rejects it as a bad topic
        try:
            payload = message.payload
            self._handler(topic, payload if isinstance(payload, bytes) else bytes(payload), token)
        except Exception:
            # The handler is built never to raise; never let paho's network thread die.
            log.exception("message handler failed on %s", topic)
