"""Publishes one camera's count intervals from the outbox to MQTT: paho-mqtt 2
(``CallbackAPIVersion.VERSION2``), MQTT 5, QoS 1, persistent session, retained status with
a Last Will, health on request (the worker sends it every ``health.interval_seconds``).

The connection, paho's callbacks and the connection's error state are
``protocol.mqtt_client.MqttClientBase``'s; this class adds the Last Will, the PUBACKs and the
outbox. Two threads. paho's network loop (``loop_forever`` in our own thread, so a failure is
recorded and the loop restarted) connects, reconnects with exponential backoff and re-sends
whatever it had in flight. A worker thread does all outbox I/O and publishing; paho's
callbacks only record events and wake it. The worker keeps at most ``max_inflight`` count
messages handed to paho and not yet acknowledged, takes the next ones from the outbox in
order, and acknowledges them in the outbox when the broker's PUBACK reports success. A
broker that refuses a message (PUBACK reason code >= 0x80, e.g. not authorised) gets it
again after a backoff; it stays in the outbox meanwhile. On every connect it publishes the
retained ``online`` status and re-sends the outbox's recently acknowledged intervals (see
``OutboxConfig.keep_acknowledged_seconds``); a re-sent copy that reaches no subscriber (PUBACK
0x10, e.g. a restarted Mosquitto 2.0 without the aggregators' shared subscriptions yet) puts
its interval back in the queue, so it is delivered like a new one.

Connection problems never raise: ``status()`` reports them and the data waits in the outbox.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from edge.config import MqttConfig
from edge.transport.acknowledgements import PendingAcknowledgements, RefusalBackoff
from edge.transport.outbox import Outbox, OutboxError
from protocol.messages import CameraHealth, CameraStatus, CountInterval, LiveCrossing
from protocol.mqtt_client import MqttClientBase
from protocol.topics import counts_topic, health_topic, live_topic, status_topic

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PublisherStatus:
    connected: bool
    error: str | None
    """The last connection or publishing problem; None once connected again."""
    connections: int
    """Successful connections so far (1 after the first connect; more after reconnects)."""
    last_acknowledged_utc: datetime | None
    in_flight: int
    outbox_depth: int


def client_id_for(store_id: str, camera_id: str) -> str:
    """The stable client id that keeps the broker session across restarts."""
    return f"footfall-{store_id}-{camera_id}"


class MqttPublisher(MqttClientBase):
    """Drains one camera's intervals from ``outbox`` to ``{topic_root}/{store}/{camera}/counts``.

    ``submit_interval`` stores an interval durably (assigning its sequence number) and wakes
    the publisher; ``flush`` waits until the broker has acknowledged everything; ``stop``
    flushes, publishes the retained ``offline`` status and disconnects.
    """

    def __init__(
        self,
        config: MqttConfig,
        store_id: str,
        camera_id: str,
        outbox: Outbox,
        *,
        software_version: str,
        client_id: str | None = None,
        session_expiry_seconds: int = 7 * 24 * 3600,
        reconnect_minimum_seconds: int = 1,
        reconnect_maximum_seconds: int = 60,
    ) -> None:
        self.store_id = store_id
        self.camera_id = camera_id
        self.software_version = software_version
        self._config = config
        self._outbox = outbox
        self.counts_topic = counts_topic(store_id, camera_id, config.topic_root)
        self.health_topic = health_topic(store_id, camera_id, config.topic_root)
        self.status_topic = status_topic(store_id, camera_id, config.topic_root)
        self.live_topic = live_topic(store_id, camera_id, config.topic_root)
        self.live_published = 0
        self.live_dropped = 0
        super().__init__(
            config,
            client_id=client_id or config.client_id or client_id_for(store_id, camera_id),
            logger=logger,
            session_expiry_seconds=session_expiry_seconds,
            reconnect_minimum_seconds=reconnect_minimum_seconds,
            reconnect_maximum_seconds=reconnect_maximum_seconds,
        )
        self._client.will_set(
            self.status_topic, self._status_payload("offline"), qos=1, retain=True
        )
        self._client.max_inflight_messages_set(config.max_inflight)
        self._wakeup = threading.Event()
        self._just_connected = threading.Event()
        self._pending = PendingAcknowledgements()
        self._settle_lock = threading.Lock()
        """Held while PUBACKs change the outbox, so ``flush`` never sees a state between."""
        self._last_acknowledged_utc: datetime | None = None
        self._backoff = RefusalBackoff(float(reconnect_minimum_seconds))
        self._threads: list[threading.Thread] = []

    # -- the pipeline's side -------------------------------------------------------------

    def start(self) -> None:
        if self._threads:
            raise RuntimeError(f"publisher for {self.counts_topic} already started")
        self._connect()
        name = f"{self.store_id}/{self.camera_id}"
        self._threads = [
            threading.Thread(
                target=self._run_network_loop, name=f"mqtt-network {name}", daemon=True
            ),
            threading.Thread(target=self._run_worker, name=f"mqtt-publisher {name}", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def submit_interval(self, interval: CountInterval) -> CountInterval:
        """Store ``interval`` in the outbox (its ``sequence`` is replaced by the camera's
        next one) and return the stored message; publishing happens in the background.
        Raises ``OutboxError`` when it cannot be stored."""
        if (interval.store_id, interval.camera_id) != (self.store_id, self.camera_id):
            raise ValueError(
                f"interval of {interval.store_id}/{interval.camera_id} submitted to the"
                f" publisher of {self.store_id}/{self.camera_id}"
            )
        stored = self._outbox.append(interval)
        self._wakeup.set()
        return stored

    def last_interval_end(self, camera_id: str) -> datetime | None:
        return self._outbox.last_interval_end(camera_id)

    def flush(self, timeout_seconds: float) -> bool:
        """Wait until the broker has acknowledged every interval of this camera; False when
        ``timeout_seconds`` passed first (the rest stays in the outbox)."""
        deadline = time.monotonic() + timeout_seconds
        while self._unsettled():
            if time.monotonic() >= deadline:
                return False
            self._wakeup.set()
            time.sleep(0.02)
        return True

    def _unsettled(self) -> bool:
        """Intervals not yet confirmed: unacknowledged in the outbox, or re-sent copies of
        acknowledged ones still waiting for a PUBACK (a 0x10 puts them back in the queue)."""
        with self._settle_lock:
            return self._pending.copies_waiting or self._outbox.depth(self.camera_id) > 0

    def stop(self, timeout_seconds: float = 5.0) -> bool:
        """Flush for up to ``timeout_seconds``, publish the retained ``offline`` status and
        disconnect. Returns whether everything was acknowledged."""
        flushed = self.flush(timeout_seconds)
        if self.status().connected:
            info = self._client.publish(
                self.status_topic, self._status_payload("offline"), qos=1, retain=True
            )
            try:
                info.wait_for_publish(timeout=1.0)
            except (RuntimeError, ValueError) as error:
                logger.warning(
                    "could not publish offline status on %s: %s", self.status_topic, error
                )
        self._disconnect()
        self._wakeup.set()
        for thread in self._threads:
            thread.join(timeout=5.0)
        return flushed

    def status(self) -> PublisherStatus:
        connection = self.connection_state()
        return PublisherStatus(
            connected=connection.connected,
            error=connection.error,
            connections=connection.connections,
            last_acknowledged_utc=self.last_acknowledged_utc,
            in_flight=self._outbox.in_flight(self.camera_id),
            outbox_depth=self._outbox.depth(self.camera_id),
        )

    @property
    def last_acknowledged_utc(self) -> datetime | None:
        """When the broker last acknowledged a count message of this camera."""
        with self._state_lock:
            return self._last_acknowledged_utc

    def publish_health(self, health: CameraHealth) -> bool:
        """Publish a health message now (QoS 0: health is a snapshot, and while disconnected
        the retained ``offline`` status says more). False when not connected."""
        if (health.store_id, health.camera_id) != (self.store_id, self.camera_id):
            raise ValueError(
                f"health of {health.store_id}/{health.camera_id} given to the publisher of"
                f" {self.store_id}/{self.camera_id}"
            )
        if not self.status().connected:
            return False
        info = self._client.publish(self.health_topic, health.model_dump_json(), qos=0)
        return info.rc == mqtt.MQTT_ERR_SUCCESS

    def publish_live(self, crossing: LiveCrossing) -> bool:
        """Publish a live crossing now, QoS 0, not through the outbox: best effort (the
        interval is the durable record). Dropped while not connected; False then."""
        if (crossing.store_id, crossing.camera_id) != (self.store_id, self.camera_id):
            raise ValueError(
                f"live crossing of {crossing.store_id}/{crossing.camera_id} given to the"
                f" publisher of {self.store_id}/{self.camera_id}"
            )
        if self.status().connected:
            info = self._client.publish(self.live_topic, crossing.model_dump_json(), qos=0)
            if info.rc == mqtt.MQTT_ERR_SUCCESS:
                self.live_published += 1
                return True
        self.live_dropped += 1
        return False

    # -- paho's callbacks (see MqttClientBase): record and wake the worker, never raise --------

    def _after_connect(self, client: mqtt.Client, flags: mqtt.ConnectFlags) -> None:
        self._just_connected.set()
        self._wakeup.set()

    def _after_disconnect(self) -> None:
        self._wakeup.set()

    def _on_publish(
        self,
        client: mqtt.Client,
        userdata: Any,
        message_id: int,
        reason_code: ReasonCode,
        properties: Properties,
    ) -> None:
        self._pending.record(message_id, reason_code)
        self._wakeup.set()

    # -- the worker thread -------------------------------------------------------------------

    def _run_worker(self) -> None:
        while not self._stopping.is_set():
            self._wakeup.wait(timeout=1.0)
            self._wakeup.clear()
            try:
                self._drain()
            except OutboxError as error:
                self._record_error(str(error))
                self._stopping.wait(self._reconnect_minimum_seconds)

    def _drain(self) -> None:
        self._process_acknowledgements()
        if not self.status().connected:
            return
        if self._just_connected.is_set():
            self._just_connected.clear()
            self._client.publish(
                self.status_topic, self._status_payload("online"), qos=1, retain=True
            )
            self._resend_acknowledged()
        if not self._backoff.waiting(time.monotonic()):
            self._fill_window()

    def _resend_acknowledged(self) -> None:
        with self._settle_lock:
            for message in self._outbox.recently_acknowledged(self.camera_id):
                info = self._client.publish(self.counts_topic, message.model_dump_json(), qos=1)
                if info.rc in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
                    self._pending.resent(info.mid, message.sequence)

    def _fill_window(self) -> None:
        capacity = self._config.max_inflight - self._pending.in_flight
        if capacity <= 0:
            return
        for message in self._outbox.take(self.camera_id, capacity):
            info = self._client.publish(self.counts_topic, message.model_dump_json(), qos=1)
            if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
                self._outbox.release(self.camera_id, [message.sequence])
                self._record_error(f"paho refused to queue {self.counts_topic}: {info.rc}")
                return
            self._pending.published(info.mid, message.sequence)

    def _process_acknowledgements(self) -> None:
        with self._settle_lock:
            self._settle_acknowledgements()

    def _settle_acknowledgements(self) -> None:
        """Copies that reached nobody are requeued before anything is acknowledged, so the
        outbox's depth never drops to 0 on the way."""
        settlement = self._pending.settle()
        if settlement.requeued:
            self._outbox.requeue(self.camera_id, settlement.requeued)
        if settlement.acknowledged:
            self._outbox.acknowledge(self.camera_id, settlement.acknowledged)
            with self._state_lock:
                self._last_acknowledged_utc = datetime.now(UTC)
            self._backoff.reset()
        if settlement.refused:
            self._outbox.release(self.camera_id, [sequence for sequence, _ in settlement.refused])
            self._back_off(settlement.refused)

    def _back_off(self, refused: list[tuple[int, ReasonCode]]) -> None:
        """Back off (see ``RefusalBackoff``) and say so."""
        retry_seconds = self._backoff.refused(time.monotonic())
        sequence, reason_code = refused[0]
        self._record_error(
            f"MQTT broker {self.address} did not deliver {len(refused)} count message(s) on"
            f" {self.counts_topic} (first: sequence {sequence}, {reason_code});"
            f" retrying in {retry_seconds:.1f} s"
        )

    def _status_payload(self, state: Literal["online", "offline"]) -> str:
        return CameraStatus(
            state=state,
            store_id=self.store_id,
            camera_id=self.camera_id,
            software_version=self.software_version,
        ).model_dump_json()
