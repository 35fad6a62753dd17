"""Wiring of the aggregator: MQTT consumer -> validation -> batching writer + live occupancy.

The MQTT network thread validates and encodes each message and queues its lines with the
message's acknowledgement token; the writer thread makes batches durable and then has the
consumer acknowledge them in arrival order. Rejected messages travel the same queue (with no
lines), so acknowledgements stay in order. A ticker thread publishes occupancy that changed.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from aggregator.config import AggregatorConfig
from aggregator.ingest.consumer import AckToken, MqttConsumer
from aggregator.ingest.entrances import EntranceLineWatch
from aggregator.ingest.occupancy import LineRecord, OccupancyBook
from aggregator.ingest.occupancy_sources import (
    decode_sync,
    encode_sync,
    rebuild_from_influx,
    sync_topic,
)
from aggregator.ingest.spool import Spool
from aggregator.ingest.status_report import (
    STATUS_PUBLISH_SECONDS,
    LastRejection,
    build_status,
    status_key,
)
from aggregator.ingest.validation import (
    Rejection,
    RejectionCounter,
    check_not_in_future,
    validate_message,
)
from aggregator.ingest.writer import Backoff, BatchWriter
from aggregator.preflight import permanent_influx_problem
from aggregator.storage.encoding import IntervalEncoder, PointEncoder
from aggregator.storage.influx import InfluxClient, InfluxError
from aggregator.storage.points import health_point, status_point
from protocol.messages import CameraHealth, CountInterval, LiveCrossing
from protocol.settings import ConfigError
from protocol.topics import aggregator_status_topic, counts_topic, occupancy_topic

log = logging.getLogger(__name__)

RECENT_SEQUENCES = 100_000
"""(store, camera, sequence) remembered to skip re-encoding exact redeliveries."""
OCCUPANCY_PUBLISH_SECONDS = 1.0
LIVE_PUBLISH_GAP_SECONDS = 0.2  # least time between publications: a burst is one message
STATS_LOG_SECONDS = 60.0


class Delivery(NamedTuple):
    """What the writer hands back once a message's lines are durable."""

    ack: AckToken
    records: tuple[LineRecord, ...] = ()


@dataclass
class ServiceStats:
    accepted: int = 0
    duplicates: int = 0
    sync_records_received: int = 0


def spool_directory_name(client_id: str) -> str:
    """A file-system-safe directory name per replica (each replica owns its own spool)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", client_id) or "aggregator"


class RecentSequences:
    """Bounded memory of recent (store, camera, sequence) -> payload, to spot redeliveries."""

    def __init__(self, capacity: int = RECENT_SEQUENCES) -> None:
        self._capacity = capacity
        self._seen: OrderedDict[tuple[str, str, int], int] = OrderedDict()

    def seen_before(self, message: CountInterval, payload: bytes) -> bool:
        key = (message.store_id, message.camera_id, message.sequence)
        digest = hash(payload)
        if self._seen.get(key) == digest:
            return True
        self._seen[key] = digest
        if len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
        return False


class AggregatorService:
    """Runs until :meth:`stop`; every public method is safe to call from any thread."""

    def __init__(
        self,
        config: AggregatorConfig,
        *,
        client_id: str | None = None,
        backoff: Backoff | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """``clock`` gives the current UTC time for the business day (tests move it across a
        reset); message and point times never come from it."""
        self.config = config
        self._clock = clock or _utc_now
        self.client_id = client_id or config.mqtt.client_id
        self.rejections = RejectionCounter()
        self.stats = ServiceStats()
        self._root = config.mqtt.topic_root
        self._sync_topic = sync_topic(config.mqtt) if config.mqtt.replica_sync else None
        self._influx = InfluxClient(config.influx)
        self._spool = Spool(config.spool_path / spool_directory_name(self.client_id))
        self.writer: BatchWriter[Delivery] = BatchWriter(
            self._influx,
            self._spool,
            self._on_durable,
            batch_points=config.batch_points,
            batch_seconds=config.batch_seconds,
            backoff=backoff,
        )
        self.consumer = MqttConsumer(
            config.mqtt,
            self._handle,
            client_id=self.client_id,
            session_expiry_seconds=config.mqtt.session_expiry_seconds,
            extra_topics=[self._sync_topic] if self._sync_topic else [],
            live_crossings=True,
        )
        self._encoder = PointEncoder()
        self._ticker_encoder = PointEncoder()
        self._intervals = IntervalEncoder()
        self._entrances: dict[tuple[str, str], set[str] | None] = {}
        self._recent = RecentSequences()
        self._entrance_watch = EntranceLineWatch(config)
        self._last_rejection = LastRejection()
        self._started_utc = datetime.now(UTC).replace(microsecond=0)
        self._status_topic = aggregator_status_topic(self.client_id, self._root)
        self._published_status: tuple[object, ...] | None = None
        self._book_lock = threading.Lock()
        self.book = OccupancyBook(config, self._clock())
        self._stopping = threading.Event()
        self._occupancy_changed = threading.Event()
        self._receiving = False
        self._ticker: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Prepare InfluxDB, drain the spool, rebuild occupancy, then start consuming.
        Waits (with backoff) while InfluxDB is unreachable; messages wait in the broker."""
        for what, step in (
            ("create database", self._influx.ensure_database),
            ("drain spool", self._drain_spool),
            ("rebuild occupancy", self._rebuild_occupancy),
            ("find stored entrance lines", self._find_stored_entrance_lines),
        ):
            self._until_influx_answers(what, step)
            if self._stopping.is_set():
                return
        self.writer.start()
        self._receiving = True
        self.consumer.start()
        self._entrance_watch.warn_at_start()
        self._publish_status()
        self._announce_state()
        self._ticker = threading.Thread(target=self._tick, name="occupancy", daemon=True)
        self._ticker.start()

    def stop(self, timeout_seconds: float = 30.0) -> None:
        """Stop taking messages, make everything received durable and acknowledged, leave."""
        self._receiving = False  # later deliveries stay unacknowledged: redelivered next time
        self._stopping.set()
        self._occupancy_changed.set()
        self.writer.wait_durable(timeout_seconds)
        self._publish_occupancy(self._clock())
        self._publish_status()
        self.writer.stop(timeout_seconds)
        self.consumer.stop()
        if self._ticker is not None:
            self._ticker.join(5)
        self._influx.close()
        self._log_stats()

    def _until_influx_answers(self, what: str, step: Callable[[], None]) -> None:
        failures = 0
        backoff = Backoff()
        while not self._stopping.is_set():
            try:
                step()
                return
            except InfluxError as error:
                permanent = permanent_influx_problem(error, self.config.influx)
                if permanent is not None:
                    raise ConfigError(f"{what}: {permanent}") from None
                failures += 1
                delay_seconds = backoff.delay_seconds(failures)
                log.warning("%s: %s; retrying in %.1f s", what, error, delay_seconds)
                self._stopping.wait(delay_seconds)

    def _find_stored_entrance_lines(self) -> None:
        self._entrance_watch.mark_stored(self._influx)

    def _drain_spool(self) -> None:
        if not self.writer.drain_now():
            raise InfluxError(
                f"{self.writer.spooled_segments} spool segments remain", retryable=True
            )

    def _announce_state(self) -> None:
        """Tell the other replicas everything this one knows of today (see occupancy_sources)."""
        if self._sync_topic is None:
            return
        with self._book_lock:
            records = self.book.records()
        for payload in encode_sync(self.client_id, records, mode="seed"):
            self.consumer.publish(self._sync_topic, payload)

    def _rebuild_occupancy(self) -> None:
        now = self._clock()
        with self._book_lock:
            applied = rebuild_from_influx(self._influx, self.book, self.config, now)
        log.info("occupancy rebuilt from %d stored entrance intervals of today", applied)

    # -- message path (MQTT network thread) --------------------------------------------------

    def _handle(self, topic: str, payload: bytes, token: AckToken) -> None:
        if not self._receiving:
            return
        try:
            if topic == self._sync_topic:
                self._handle_sync(payload)
                self.writer.add((), Delivery(token))
                return
            message = validate_message(topic, payload, self._root)
            if isinstance(message, Rejection):
                self._reject(topic, payload, message, token)
            elif isinstance(message, CountInterval):
                self._handle_counts(message, payload, token)
            elif isinstance(message, LiveCrossing):
                self._handle_live(message)
            elif isinstance(message, CameraHealth):
                line = self._encoder.encode(health_point(message, datetime.now(UTC)))
                self.writer.add((line,), Delivery(token))
            else:
                line = self._encoder.encode(status_point(message, datetime.now(UTC)))
                self.writer.add((line,), Delivery(token))
        except Exception as error:  # a bug must not lose the message or stop the consumer
            log.exception("internal error on %s", topic)
            self._reject(topic, payload, Rejection("internal_error", repr(error)[:500]), token)

    def _handle_counts(self, message: CountInterval, payload: bytes, token: AckToken) -> None:
        tolerance_seconds = self.config.clock_skew_tolerance_seconds
        future = check_not_in_future(message, datetime.now(UTC), tolerance_seconds)
        if future is not None:
            topic = counts_topic(message.store_id, message.camera_id, self._root)
            self._reject(topic, payload, future, token)
            return
        if self._recent.seen_before(message, payload):
            self.stats.duplicates += 1
            self.writer.add((), Delivery(token))
            return
        key = (message.store_id, message.camera_id)
        if key not in self._entrances:
            self._entrances[key] = self.config.store(key[0]).entrance_lines(key[1])
        lines = self._intervals.encode(message, self._entrances[key])
        with self._book_lock:
            records = self.book.apply_message(message, self._clock())
        self._occupancy_changed.set()
        self.stats.accepted += 1
        self._entrance_watch.observe(message)
        self.writer.add(lines, Delivery(token, tuple(records)))

    def _handle_live(self, crossing: LiveCrossing) -> None:
        """QoS 0, stored nowhere: the interval is the durable record (occupancy.py)."""
        with self._book_lock:
            self.book.apply_live(crossing, self._clock())
        self._occupancy_changed.set()

    def _handle_sync(self, payload: bytes) -> None:
        try:
            mode, records = decode_sync(payload)
        except (ValueError, TypeError, KeyError) as error:
            log.warning("ignoring malformed replica sync message: %s", error)
            return
        with self._book_lock:
            if mode == "seed":
                self.book.seed(records)
            else:
                self.book.apply_records(records, self._clock())
        self._occupancy_changed.set()
        self.stats.sync_records_received += len(records)

    def _reject(self, topic: str, payload: bytes, rejection: Rejection, token: AckToken) -> None:
        self.rejections.add(rejection)
        received_utc = datetime.now(UTC)
        self._last_rejection.note(topic, rejection, received_utc)
        count = self.rejections.total
        if count <= 100 or count % 1000 == 0:
            log.warning(
                "rejected message on %r (%s): %s", topic, rejection.reason, rejection.detail
            )
        dead_letter = self.config.mqtt.dead_letter_topic
        if dead_letter:
            document = {
                "reason": rejection.reason,
                "detail": rejection.detail,
                "topic": topic,
                "received_utc": received_utc.isoformat(),
                "payload_base64": base64.b64encode(payload[:100_000]).decode("ascii"),
            }
            # Retained: an operator who subscribes later still sees the latest one.
            self.consumer.publish(dead_letter, json.dumps(document).encode(), retain=True)
        self.writer.add((), Delivery(token))

    # -- writer thread ---------------------------------------------------------------------

    def _on_durable(self, deliveries: list[Delivery]) -> None:
        """Share the batch's entrance counts with the other replicas, then acknowledge: the
        sync message is queued ahead of the acknowledgements on the same connection."""
        if self._sync_topic is not None:
            records = [record for delivery in deliveries for record in delivery.records]
            for payload in encode_sync(self.client_id, records):
                self.consumer.publish(self._sync_topic, payload)
        self.consumer.ack([delivery.ack for delivery in deliveries])

    # -- occupancy ticker ------------------------------------------------------------------

    def _tick(self) -> None:
        next_stats = time.monotonic() + STATS_LOG_SECONDS
        next_status = time.monotonic() + STATUS_PUBLISH_SECONDS
        while not self._stopping.wait(LIVE_PUBLISH_GAP_SECONDS):
            self._occupancy_changed.wait(OCCUPANCY_PUBLISH_SECONDS)
            self._occupancy_changed.clear()
            self._publish_occupancy(self._clock())
            if time.monotonic() >= next_status:
                next_status = time.monotonic() + STATUS_PUBLISH_SECONDS
                self._publish_status()
            if time.monotonic() >= next_stats:
                next_stats += STATS_LOG_SECONDS
                self._log_stats()

    def _publish_occupancy(self, now_utc: datetime) -> None:
        """Publish (retained) and store the occupancy of every store that changed. Times are
        whole seconds so that replicas publishing the same figures write the same point."""
        now_utc = now_utc.replace(microsecond=0)
        with self._book_lock:
            self.book.roll_over(now_utc)
            snapshots = self.book.take_changed(now_utc)
        for snapshot in snapshots:
            payload = snapshot.to_message().model_dump_json().encode()
            self.consumer.publish(
                occupancy_topic(snapshot.store_id, self._root), payload, retain=True
            )
            self.writer.add((self._ticker_encoder.encode(snapshot.to_point()),))

    def _publish_status(self) -> None:
        """Retain this replica's status when it changed (``protocol.aggregator_status``)."""
        status = build_status(
            self.client_id,
            self._started_utc,
            accepted=self.stats.accepted,
            duplicates=self.stats.duplicates,
            rejected_by_reason=self.rejections.by_reason(),
            last_rejection=self._last_rejection.summary,
            entrance_lines_never_seen=self._entrance_watch.never_seen(),
        )
        key = status_key(status)
        if key != self._published_status:
            self._published_status = key
            payload = status.model_dump_json().encode()
            self.consumer.publish(self._status_topic, payload, retain=True)

    def _log_stats(self) -> None:
        writer = self.writer.stats
        log.info(
            "accepted %d, duplicates %d, rejected %s, points written %d, batches spooled %d, "
            "spool segments %d, acks sent %d",
            self.stats.accepted,
            self.stats.duplicates,
            self.rejections.by_reason() or 0,
            writer.points_written,
            writer.batches_spooled,
            self.writer.spooled_segments,
            self.consumer.acks_sent,
        )


def _utc_now() -> datetime:
    return datetime.now(UTC)
