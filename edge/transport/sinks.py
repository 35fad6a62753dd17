"""Where the edge worker's finished intervals go; both sinks satisfy ``edge.worker.IntervalSink``.

* ``MqttSink``: one ``MqttPublisher`` (one MQTT connection, with its own Last Will) per
  camera, all sharing one durable ``Outbox``.
* ``JsonLinesSink``: for configs with ``mqtt: null``; one JSON line per interval, appended
  and fsynced, sequence numbers continued from the file.

Both assign each interval its per-camera sequence number and refuse an interval that starts
before the end of the camera's previous one. ``open_sink`` picks one from an ``EdgeConfig``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from edge.config import EdgeConfig, MqttConfig
from edge.transport.outbox import Outbox
from edge.transport.publisher import MqttPublisher
from edge.transport.sequences import CameraSequences
from protocol.messages import CameraHealth, CountInterval, LiveCrossing
from protocol.settings import ConfigError

logger = logging.getLogger(__name__)


def _client_id(config: MqttConfig, camera_id: str, several: bool) -> str | None:
    if config.client_id is None or not several:
        return config.client_id
    return f"{config.client_id}-{camera_id}"


class MqttSink:
    """Intervals of several cameras through the outbox to MQTT, one publisher (and one
    connection, so each camera has its own Last Will) per camera. A configured
    ``mqtt.client_id`` becomes ``{client_id}-{camera}`` when there are several cameras:
    two connections with one client id would keep disconnecting each other."""

    def __init__(
        self,
        config: MqttConfig,
        store_id: str,
        camera_ids: list[str],
        outbox: Outbox,
        *,
        software_version: str,
        reconnect_maximum_seconds: int = 60,
    ) -> None:
        if not camera_ids or len(set(camera_ids)) != len(camera_ids):
            raise ValueError(f"camera ids must be unique and at least one, got {camera_ids}")
        self.outbox = outbox
        self.publishers = {
            camera_id: MqttPublisher(
                config,
                store_id,
                camera_id,
                outbox,
                software_version=software_version,
                client_id=_client_id(config, camera_id, several=len(camera_ids) > 1),
                reconnect_maximum_seconds=reconnect_maximum_seconds,
            )
            for camera_id in camera_ids
        }

    def _publisher(self, camera_id: str) -> MqttPublisher:
        try:
            return self.publishers[camera_id]
        except KeyError:
            known = ", ".join(self.publishers)
            raise ValueError(f"no publisher for camera {camera_id!r} (known: {known})") from None

    def start(self) -> None:
        for publisher in self.publishers.values():
            publisher.start()

    def last_interval_end(self, camera_id: str) -> datetime | None:
        return self.outbox.last_interval_end(camera_id)

    def submit_interval(self, interval: CountInterval) -> CountInterval:
        return self._publisher(interval.camera_id).submit_interval(interval)

    def publish_health(self, health: CameraHealth) -> None:
        self._publisher(health.camera_id).publish_health(health)

    def publish_live(self, crossing: LiveCrossing) -> None:
        """A counted crossing, at once and best effort (``edge.live_crossings``)."""
        self._publisher(crossing.camera_id).publish_live(crossing)

    @property
    def outbox_depth(self) -> int:
        return self.outbox.depth()

    @property
    def outbox_bytes(self) -> int:
        return self.outbox.stored_bytes

    @property
    def last_publish_utc(self) -> datetime | None:
        moments = [p.last_acknowledged_utc for p in self.publishers.values()]
        return max((moment for moment in moments if moment is not None), default=None)

    def delivery_state(self) -> str:
        """``broker connected``, or ``broker disconnected`` with the last error."""
        states = [publisher.status() for publisher in self.publishers.values()]
        if all(state.connected for state in states):
            return "broker connected"
        errors = sorted({state.error for state in states if state.error})
        return "broker disconnected" + (f" ({'; '.join(errors)})" if errors else "")

    def flush(self, timeout_seconds: float) -> bool:
        """Wait (up to ``timeout_seconds`` in all) until the broker has acknowledged
        every interval; False when some are still in the outbox."""
        deadline = time.monotonic() + timeout_seconds
        return all(
            publisher.flush(max(0.0, deadline - time.monotonic()))
            for publisher in self.publishers.values()
        )

    def stop(self, timeout_seconds: float = 5.0) -> bool:
        """Flush, publish every camera's ``offline`` status, disconnect, close the outbox.
        Returns whether everything was acknowledged (the rest waits in the outbox)."""
        flushed = self.flush(timeout_seconds)
        for publisher in self.publishers.values():
            publisher.stop(timeout_seconds=0.0)
        self.outbox.close()
        return flushed


class JsonLinesSink:
    """Intervals as JSON lines in ``path`` (``mqtt: null`` configs). Each line is fsynced
    before ``submit_interval`` returns. On opening, the file is read to continue each
    camera's sequence numbers and interval ends; a torn last line (the process died while
    writing it, so its ``submit_interval`` never returned) is cut off with a warning."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._sequences = CameraSequences()
        self._last_write_utc: datetime | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._recover()
            self._file = path.open("a", encoding="utf-8")
        except OSError as error:
            raise OSError(f"interval file {path}: {error.strerror or error}") from None

    def _recover(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        complete = data[: data.rfind(b"\n") + 1]
        if len(complete) < len(data):
            logger.warning(
                "%s: cutting off a torn last line of %d bytes", self.path, len(data) - len(complete)
            )
            with self.path.open("r+b") as torn:
                torn.truncate(len(complete))
        for number, line in enumerate(complete.decode("utf-8").splitlines(), start=1):
            try:
                message = CountInterval.model_validate_json(line)
            except ValidationError as error:
                raise ValueError(
                    f"{self.path} line {number} is not a count interval: {error}"
                ) from None
            self._sequences.remember(message)

    def start(self) -> None:
        """Nothing to connect; present so both sinks are used the same way."""

    def last_interval_end(self, camera_id: str) -> datetime | None:
        with self._lock:
            return self._sequences.last_end(camera_id)

    def submit_interval(self, interval: CountInterval) -> CountInterval:
        with self._lock:
            message = self._sequences.number(interval)
            try:
                self._file.write(message.model_dump_json() + "\n")
                self._file.flush()
                os.fsync(self._file.fileno())
            except OSError as error:
                raise OSError(f"interval file {self.path}: {error.strerror or error}") from None
            self._sequences.remember(message)
            self._last_write_utc = datetime.now(UTC)
            return message

    def publish_health(self, health: CameraHealth) -> None:
        """Health is not recorded in the interval file."""

    def delivery_state(self) -> str:
        return f"writing {self.path}"

    @property
    def outbox_depth(self) -> int:
        return 0

    @property
    def outbox_bytes(self) -> int:
        return 0

    @property
    def last_publish_utc(self) -> datetime | None:
        return self._last_write_utc

    def flush(self, timeout_seconds: float) -> bool:
        return True

    def stop(self, timeout_seconds: float = 5.0) -> bool:
        with self._lock:
            self._file.close()
        return True


def open_sink(config: EdgeConfig, software_version: str) -> MqttSink | JsonLinesSink:
    """``MqttSink`` over ``outbox`` when ``mqtt`` is configured, else ``JsonLinesSink`` on
    ``output_path``. Not started."""
    if config.mqtt is None:
        if config.output_path is None:
            raise ConfigError("set mqtt (publish to a broker) or output_path (write JSON lines)")
        return JsonLinesSink(config.output_path)
    return MqttSink(
        config.mqtt,
        config.store_id,
        [camera.id for camera in config.cameras],
        Outbox.from_config(config.outbox),
        software_version=software_version,
    )


class MemorySink:
    """Keeps intervals in memory, numbering them per camera: for replays and audits, where
    the report is the output and nothing is published."""

    def __init__(self) -> None:
        self.intervals: list[CountInterval] = []
        self._sequences = CameraSequences()

    def start(self) -> None:
        """Nothing to connect."""

    def last_interval_end(self, camera_id: str) -> datetime | None:
        return None

    def submit_interval(self, interval: CountInterval) -> CountInterval:
        message = self._sequences.number(interval)
        self._sequences.remember(message)
        self.intervals.append(message)
        return message

    def publish_health(self, health: CameraHealth) -> None:
        """Health is not kept."""

    def delivery_state(self) -> str:
        return "kept in memory"

    @property
    def outbox_depth(self) -> int:
        return 0

    @property
    def outbox_bytes(self) -> int:
        return 0

    @property
    def last_publish_utc(self) -> datetime | None:
        return self.intervals[-1].interval_end_utc if self.intervals else None

    def flush(self, timeout_seconds: float) -> bool:
        return True

    def stop(self, timeout_seconds: float = 5.0) -> bool:
        return True
