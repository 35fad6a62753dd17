"""The API's MQTT subscriber: retained store occupancy (published by the aggregator) and
camera health and status (published by edge devices) into the ``LiveBoard``.

It uses a clean MQTT 5 session: the state it needs is retained on the broker, so a restart
reads it again on subscribe and nothing has to be queued for it while it is away. The
connection, paho's connect/disconnect callbacks and their logging are
``protocol.mqtt_client.MqttClientBase``'s.
"""

from __future__ import annotations

import logging
from typing import Any

import paho.mqtt.client as mqtt
from pydantic import ValidationError

from aggregator.api.board import LiveBoard
from aggregator.config import MqttSettings
from protocol.aggregator_status import AggregatorStatus
from protocol.messages import CameraHealth, CameraStatus, StoreOccupancy
from protocol.mqtt_client import MqttClientBase
from protocol.topics import (
    AGGREGATOR_BRANCH,
    aggregator_status_filter,
    camera_filter,
    occupancy_filter,
    topic_levels,
)

log = logging.getLogger(__name__)

_RECONNECT_MINIMUM_SECONDS = 1
_RECONNECT_MAXIMUM_SECONDS = 30


class LiveSubscriber(MqttClientBase):
    """Subscribes to ``{root}/+/occupancy``, ``{root}/+/+/health`` and ``{root}/+/+/status``.

    A payload that fails validation, or whose store/camera differ from its topic's, is
    rejected with a logged reason and counted; it never changes the board.
    """

    def __init__(self, settings: MqttSettings, board: LiveBoard, client_id: str) -> None:
        self.settings = settings
        self.board = board
        self._root = settings.topic_root
        super().__init__(
            settings,
            client_id=client_id,
            logger=log,
            session_expiry_seconds=None,
            reconnect_minimum_seconds=_RECONNECT_MINIMUM_SECONDS,
            reconnect_maximum_seconds=_RECONNECT_MAXIMUM_SECONDS,
        )

    @property
    def connected(self) -> bool:
        return self.connection_state().connected

    @property
    def last_connect_error(self) -> str | None:
        """Why it is not connected (refused, unreachable, lost); None while connected."""
        return self.connection_state().error

    def start(self) -> None:
        """Connect in the background; paho reconnects by itself after a broker outage."""
        self._start_loop()

    def stop(self) -> None:
        self._disconnect()

    def _after_connect(self, client: mqtt.Client, flags: mqtt.ConnectFlags) -> None:
        client.subscribe(
            [
                (occupancy_filter(self._root), 1),
                (camera_filter("health", self._root), 0),
                (camera_filter("status", self._root), 1),
                (aggregator_status_filter(self._root), 1),
            ]
        )

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self.board.counters.messages_received += 1
        try:
            self._route(message.topic, message.payload)
        except (ValidationError, ValueError) as error:
            reason = f"{message.topic}: {error}".replace("\n", "; ")[:500]
            log.warning("rejected message %s", reason)
            self.board.note_rejected(reason)

    def _route(self, topic: str, payload: bytes | bytearray) -> None:
        match topic_levels(topic, self._root):
            case [branch, "status", _] if branch == AGGREGATOR_BRANCH:
                replica = AggregatorStatus.model_validate_json(payload) if payload else None
                self.board.submit_aggregator_status(topic, replica)
            case [store_id, "occupancy"]:
                if not payload:
                    self.board.submit_occupancy_cleared(store_id)
                    return
                occupancy = StoreOccupancy.model_validate_json(payload)
                _require_same(("store", store_id, occupancy.store_id))
                self.board.submit_occupancy(occupancy)
            case [store_id, camera_id, "health"]:
                health = CameraHealth.model_validate_json(payload)
                _require_same(
                    ("store", store_id, health.store_id), ("camera", camera_id, health.camera_id)
                )
                self.board.submit_health(health)
            case [store_id, camera_id, "status"] if payload:
                status = CameraStatus.model_validate_json(payload)
                _require_same(
                    ("store", store_id, status.store_id), ("camera", camera_id, status.camera_id)
                )
                self.board.submit_status(status)
            case _:
                return  # an empty retained status (deleted) or another topic: nothing to show


def _require_same(*checks: tuple[str, str, str]) -> None:
    """A device may only speak for the store and camera of its own topic."""
    for what, from_topic, from_payload in checks:
        if from_topic != from_payload:
            raise ValueError(
                f"payload {what} {from_payload!r} differs from topic {what} {from_topic!r}"
            )
