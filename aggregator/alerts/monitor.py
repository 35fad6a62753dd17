"""The alert monitor that ``aggregator run`` starts when the config has an ``alerts``
section: its own MQTT client hears every store's retained occupancy and every camera's
status and health (not through the shared subscription: each replica's monitor sees all of
them), checks the alerts every ``evaluate_seconds``, and publishes each event retained on
``protocol.topics.alert_topic`` (QoS 1; paho keeps it while the broker is away) and to the
webhook.

It runs beside the ingest path, never in it: a slow InfluxDB query or webhook delays alerts,
not counts. At start it reads the alerts' retained events back, so an alert that was firing
when the aggregator stopped is not fired again, and its clearing is still announced.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from pydantic import ValidationError

from aggregator.alert_settings import AlertSettings
from aggregator.alerts.checks import AlertChecks
from aggregator.alerts.webhook import WebhookSender
from aggregator.api.counting_state import CameraReport
from aggregator.config import AggregatorConfig
from aggregator.storage.influx import InfluxClient
from protocol.alerts import AlertEvent
from protocol.messages import CameraHealth, CameraStatus, StoreOccupancy
from protocol.mqtt_client import MqttClientBase
from protocol.topics import (
    ALERTS_BRANCH,
    alert_topic,
    alerts_filter,
    camera_filter,
    occupancy_filter,
    topic_levels,
)

log = logging.getLogger(__name__)

_RECONNECT_MINIMUM_SECONDS = 1
_RECONNECT_MAXIMUM_SECONDS = 30
RECENT_EVENTS = 1000
RETAINED_SETTLE_SECONDS = 1.0
"""After the first subscription is acknowledged, how long retained messages may take to
arrive before the first check (the broker sends them right after its SUBACK)."""


class AlertMonitor(MqttClientBase):
    """Runs from :meth:`start` until :meth:`stop`; ``events`` holds the latest events it
    published (at most ``RECENT_EVENTS``: it runs for months)."""

    def __init__(
        self,
        config: AggregatorConfig,
        settings: AlertSettings,
        *,
        client_id: str,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.config = config
        self.settings = settings
        self._root = config.mqtt.topic_root
        self._clock = clock or _utc_now
        self._influx = InfluxClient(config.influx) if settings.visits_low.enabled else None
        self.checks = AlertChecks(config, settings, self._influx)
        self.webhook = WebhookSender(settings.webhook) if settings.webhook else None
        self.events: deque[AlertEvent] = deque(maxlen=RECENT_EVENTS)
        self._lock = threading.Lock()
        self._occupancy: dict[str, StoreOccupancy] = {}
        self._reports: dict[tuple[str, str], CameraReport] = {}
        self._subscribed = threading.Event()
        self._checking = False
        self._stop_checks = threading.Event()
        self._thread = threading.Thread(target=self._run_checks, name="alerts", daemon=True)
        super().__init__(
            config.mqtt,
            client_id=client_id,
            logger=log,
            session_expiry_seconds=None,
            reconnect_minimum_seconds=_RECONNECT_MINIMUM_SECONDS,
            reconnect_maximum_seconds=_RECONNECT_MAXIMUM_SECONDS,
        )

    def start(self) -> None:
        if self.webhook is not None:
            self.webhook.start()
        self._start_loop()
        self._thread.start()

    def stop(self, timeout_seconds: float = 5.0) -> None:
        self._stop_checks.set()
        if self._thread.is_alive():
            self._thread.join(timeout_seconds)
        if self.webhook is not None:
            self.webhook.stop(timeout_seconds)
        self._disconnect()
        if self._influx is not None:
            self._influx.close()

    def occupancy(self, store_id: str) -> StoreOccupancy | None:
        """The store's occupancy as the monitor last heard it."""
        with self._lock:
            return self._occupancy.get(store_id)

    # -- checks thread ---------------------------------------------------------------------

    def _run_checks(self) -> None:
        while not self._subscribed.wait(0.2):
            if self._stop_checks.is_set():
                return
        if self._stop_checks.wait(RETAINED_SETTLE_SECONDS):
            return
        with self._lock:
            self._checking = True  # from now on this process's own state decides
        while True:
            try:
                self.check_now()
            except Exception:  # a bug must not end the alerts for the rest of the run
                log.exception("alert check failed")
            if self._stop_checks.wait(self.settings.evaluate_seconds):
                return

    def check_now(self) -> list[AlertEvent]:
        """One round of checks; publishes and returns its events."""
        with self._lock:
            occupancies = list(self._occupancy.values())
            reports: dict[str, list[CameraReport]] = defaultdict(list)
            for (store_id, _), report in sorted(self._reports.items()):
                reports[store_id].append(report)
        connected = self.connection_state().connected
        events = self.checks.evaluate(occupancies, reports, self._clock(), connected)
        for event in events:
            self._publish(event)
        return events

    def _publish(self, event: AlertEvent) -> None:
        log.warning("alert %s: %s", event.state, event.message)
        topic = alert_topic(event.store_id, event.kind, event.camera_id, self._root)
        self._client.publish(topic, event.model_dump_json().encode(), qos=1, retain=True)
        if self.webhook is not None:
            self.webhook.submit(event)
        self.events.append(event)

    # -- MQTT network thread ---------------------------------------------------------------

    def _after_connect(self, client: mqtt.Client, flags: mqtt.ConnectFlags) -> None:
        client.subscribe(
            [
                (occupancy_filter(self._root), 1),
                (camera_filter("status", self._root), 1),
                (camera_filter("health", self._root), 0),
                (alerts_filter(self._root), 1),
            ]
        )

    def _on_subscribe(self, *args: Any) -> None:
        self._subscribed.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            self._route(message.topic, bytes(message.payload), bool(message.retain))
        except (ValidationError, ValueError) as error:
            log.warning("alerts: ignoring %s: %s", message.topic, str(error).replace("\n", "; "))

    def _route(self, topic: str, payload: bytes, retained: bool) -> None:
        if not payload:
            return  # a deleted retained message
        received_utc = self._clock()
        match topic_levels(topic, self._root):
            case [branch, *_] if branch == ALERTS_BRANCH:
                if retained:
                    self._resume(AlertEvent.model_validate_json(payload))
            case [store_id, "occupancy"]:
                occupancy = StoreOccupancy.model_validate_json(payload)
                if occupancy.store_id == store_id:
                    with self._lock:
                        self._occupancy[store_id] = occupancy
            case [store_id, camera_id, "status"]:
                status = CameraStatus.model_validate_json(payload)
                _require_topic((store_id, camera_id), (status.store_id, status.camera_id))
                self._note_report(store_id, camera_id, received_utc, status=status)
            case [store_id, camera_id, "health"]:
                health = CameraHealth.model_validate_json(payload)
                _require_topic((store_id, camera_id), (health.store_id, health.camera_id))
                self._note_report(store_id, camera_id, received_utc, health=health)

    def _resume(self, event: AlertEvent) -> None:
        with self._lock:
            if not self._checking:
                self.checks.book.resume(event)

    def _note_report(
        self,
        store_id: str,
        camera_id: str,
        received_utc: datetime,
        *,
        status: CameraStatus | None = None,
        health: CameraHealth | None = None,
    ) -> None:
        """The latest status and health of a camera, and when it last reported (this
        process's clock, as the API's board)."""
        with self._lock:
            previous = self._reports.get((store_id, camera_id))
            self._reports[(store_id, camera_id)] = CameraReport(
                camera_id,
                status if status is not None else (previous.status if previous else None),
                health if health is not None else (previous.health if previous else None),
                received_utc,
            )


def _require_topic(from_topic: tuple[str, str], from_payload: tuple[str, str]) -> None:
    """A device may only speak for the store and camera of its own topic."""
    if from_topic != from_payload:
        raise ValueError(f"payload names {from_payload}, its topic {from_topic}")


def start_alerts(config: AggregatorConfig, client_id: str) -> AlertMonitor | None:
    """The running monitor of ``aggregator run``, or None when alerts are off."""
    if config.alerts is None or not config.alerts.enabled:
        return None
    monitor = AlertMonitor(config, config.alerts, client_id=f"{client_id}-alerts")
    monitor.start()
    return monitor


def _utc_now() -> datetime:
    return datetime.now(UTC)
