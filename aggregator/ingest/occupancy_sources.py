"""Where live occupancy comes from besides the aggregator's own messages.

* After a restart, today's entrance ``line_counts`` and today's reset residual are read back
  from InfluxDB, so occupancy continues instead of starting again from zero.
* Replicas in one share group each receive only part of the messages. After a batch is
  durable, a replica publishes the entrance counts it applied on
  ``{topic_root}/aggregator/line-counts`` (mode ``apply``); the other replicas apply them
  too, idempotently by (store, camera, line, interval start), so every replica's occupancy
  covers all messages. A replica killed after storing a batch but before its sync message
  left may leave the others short; so on start, after rebuilding from InfluxDB, a replica
  announces its whole state of today (mode ``seed``: applied only where the receiver knows
  nothing yet, never overriding a newer live value).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from aggregator.config import AggregatorConfig, MqttSettings, StoreConfig
from aggregator.ingest.occupancy import BusinessCalendar, LineRecord, OccupancyBook
from aggregator.storage.influx import InfluxClient, parse_time, quote_string
from aggregator.storage.line_protocol import aware_to_nanoseconds
from aggregator.storage.measurements import (
    ENTRANCE_TRUE,
    LINE_COUNTS,
    STORE_OCCUPANCY,
    LineCountsField,
    StoreOccupancyField,
    Tag,
)
from protocol import topics
from protocol.messages import LineRole

SYNC_FORMAT = 1
SYNC_MODES = ("apply", "seed")
SYNC_RECORDS_PER_MESSAGE = 5000


def sync_topic(settings: MqttSettings) -> str:
    return topics.sync_topic(settings.topic_root)


def _earliest_day_start(config: AggregatorConfig, now_utc: datetime) -> datetime:
    """The earliest start of "today" over the configured stores and unconfigured ones."""
    stores = [*config.stores, StoreConfig(id="unconfigured", timezone=config.default_timezone)]
    calendars = [BusinessCalendar(store.zone, store.daily_reset_local_time) for store in stores]
    return min(calendar.reset_utc(calendar.business_day(now_utc)) for calendar in calendars)


def rebuild_from_influx(
    client: InfluxClient, book: OccupancyBook, config: AggregatorConfig, now_utc: datetime
) -> int:
    """Seed ``book`` with today's stored entrance counts; returns the records applied."""
    since = _earliest_day_start(config, now_utc)
    since_text = quote_string(since.isoformat().replace("+00:00", "Z"))
    entries, exits = LineCountsField.ENTRIES, LineCountsField.EXITS
    series = client.query(
        f"SELECT {entries}, {exits} FROM {LINE_COUNTS} "
        f"WHERE ({Tag.ENTRANCE} = {quote_string(ENTRANCE_TRUE)} "
        f"OR {Tag.ROLE} = {quote_string(LineRole.STAFF.value)}) "
        f"AND time >= {since_text} GROUP BY {Tag.STORE}, {Tag.CAMERA}, {Tag.LINE}"
    )
    records = [
        LineRecord(
            one.tags[Tag.STORE],
            one.tags[Tag.CAMERA],
            one.tags[Tag.LINE],
            aware_to_nanoseconds(parse_time(row["time"])),
            int(row[entries] or 0),
            int(row[exits] or 0),
        )
        for one in series
        for row in one.rows()
    ]
    applied = book.seed(records)
    residuals = client.query(
        f"SELECT last({StoreOccupancyField.RESET_RESIDUAL}) FROM {STORE_OCCUPANCY} "
        f"WHERE time >= {since_text} GROUP BY {Tag.STORE}"
    )
    for one in residuals:
        for row in one.rows():
            tracker = book.tracker(one.tags[Tag.STORE])
            if aware_to_nanoseconds(parse_time(row["time"])) >= tracker.day_start_ns:
                book.set_reset_residual(tracker.store.id, tracker.business_day, int(row["last"]))
    return applied


def encode_sync(replica: str, records: list[LineRecord], mode: str = "apply") -> list[bytes]:
    """Sync messages (at most :data:`SYNC_RECORDS_PER_MESSAGE` records each)."""
    if mode not in SYNC_MODES:
        raise ValueError(f"sync mode {mode!r} is not one of {SYNC_MODES}")
    messages = []
    for first in range(0, len(records), SYNC_RECORDS_PER_MESSAGE):
        rows = [
            [r.store_id, r.camera_id, r.line_id, r.interval_start_ns, r.entries, r.exits]
            for r in records[first : first + SYNC_RECORDS_PER_MESSAGE]
        ]
        document = {"format": SYNC_FORMAT, "mode": mode, "replica": replica, "records": rows}
        messages.append(json.dumps(document).encode())
    return messages


def decode_sync(payload: bytes) -> tuple[str, list[LineRecord]]:
    """Mode and records from another replica; raises ValueError on anything unexpected."""
    document: Any = json.loads(payload)
    if not isinstance(document, dict) or document.get("format") != SYNC_FORMAT:
        raise ValueError("not a line-counts sync message of format 1")
    mode = document.get("mode")
    if mode not in SYNC_MODES:
        raise ValueError(f"unknown sync mode {mode!r}")
    records = []
    for row in document["records"]:
        store_id, camera_id, line_id, start_ns, entries, exits = row
        if not all(isinstance(text, str) for text in (store_id, camera_id, line_id)):
            raise ValueError(f"bad identifiers in {row!r}")
        if not all(
            isinstance(number, int) and number >= 0 for number in (start_ns, entries, exits)
        ):
            raise ValueError(f"bad numbers in {row!r}")
        records.append(LineRecord(store_id, camera_id, line_id, start_ns, entries, exits))
    return mode, records
